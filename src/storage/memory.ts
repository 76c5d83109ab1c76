import type { Item } from '../types.js';
import type { ItemSink } from './sink.js';

/** Keeps items in an array; for tests and small embedded crawls. */
export class MemorySink implements ItemSink {
  readonly items: Item[] = [];
  closed = false;

  async write(items: Item[]): Promise<void> {
    this.items.push(...items);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
