import type { Item } from '../types.js';
import type { Sink, StoredItem } from './sink.js';

/** Keeps items (and their keys) in arrays; for tests and small embedded crawls. */
export class MemorySink implements Sink {
  readonly label = 'memory';
  readonly items: Item[] = [];
  readonly records: StoredItem[] = [];
  closed = false;

  async write(batch: readonly StoredItem[]): Promise<void> {
    for (const record of batch) {
      this.records.push(record);
      this.items.push(record.item);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
