import { once } from 'node:events';
import type { Item } from '../types.js';
import type { ItemSink } from './sink.js';

/** JSONL on standard output (the `-` output URI), honouring pipe backpressure. */
export class StdoutSink implements ItemSink {
  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {}

  async write(items: Item[]): Promise<void> {
    let text = '';
    for (const item of items) text += `${JSON.stringify(item)}\n`;
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {}
}
