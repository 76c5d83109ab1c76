import { once } from 'node:events';
import type { Sink, StoredItem } from './sink.js';

/** JSONL on standard output (the `-` output URI), honouring pipe backpressure. */
export class StdoutSink implements Sink {
  readonly label = 'stdout';

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {}

  async write(batch: readonly StoredItem[]): Promise<void> {
    let text = '';
    for (const { item } of batch) text += `${JSON.stringify(item)}\n`;
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {}
}
