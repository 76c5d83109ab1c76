import { TextFile } from './file.js';
import type { Sink, SinkContext, StoredItem } from './sink.js';

/** One JSON object per line; the default output. Appending (a resumed job) first cuts a line a crash left unfinished. */
export class JsonlSink implements Sink {
  readonly label: string;
  private readonly file: TextFile;

  constructor(path: string, options: { append?: boolean } = {}) {
    this.label = path;
    this.file = new TextFile(path, options.append ? 'a' : 'w');
  }

  open(context?: SinkContext): Promise<void> {
    return this.file.open(context?.signal);
  }

  async write(batch: readonly StoredItem[]): Promise<void> {
    let text = '';
    for (const { item } of batch) text += `${JSON.stringify(item)}\n`;
    await this.file.write(text);
  }

  /** Writes plain values, one JSON line each (for side files such as a stats or failures file). */
  async append(values: readonly unknown[]): Promise<void> {
    let text = '';
    for (const value of values) text += `${JSON.stringify(value)}\n`;
    await this.file.write(text);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
