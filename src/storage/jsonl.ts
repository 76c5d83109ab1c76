import type { Item } from '../types.js';
import { TextFile } from './file.js';
import type { ItemSink } from './sink.js';

/** One JSON object per line; the default output. */
export class JsonlSink implements ItemSink {
  private readonly file: TextFile;

  constructor(path: string, options: { append?: boolean } = {}) {
    this.file = new TextFile(path, options.append ? 'a' : 'w');
  }

  open(signal?: AbortSignal): Promise<void> {
    return this.file.open(signal);
  }

  async write(items: Item[]): Promise<void> {
    let text = '';
    for (const item of items) text += `${JSON.stringify(item)}\n`;
    await this.file.write(text);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
