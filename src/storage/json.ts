import type { Item } from '../types.js';
import { TextFile } from './file.js';
import type { ItemSink } from './sink.js';

/** A single JSON array, streamed: items are written as they come, the closing bracket at the end. */
export class JsonSink implements ItemSink {
  private readonly file: TextFile;
  private first = true;

  constructor(path: string) {
    this.file = new TextFile(path);
  }

  async open(signal?: AbortSignal): Promise<void> {
    await this.file.open(signal);
    await this.file.write('[');
  }

  async write(items: Item[]): Promise<void> {
    let text = '';
    for (const item of items) {
      text += `${this.first ? '\n' : ',\n'}${JSON.stringify(item)}`;
      this.first = false;
    }
    await this.file.write(text);
  }

  async close(): Promise<void> {
    await this.file.write(this.first ? ']\n' : '\n]\n');
    await this.file.close();
  }
}
