import Keyv, { type KeyvStoreAdapter } from 'keyv';
import { SinkError } from '../errors.js';
import type { Item } from '../types.js';
import type { ItemSink } from './sink.js';

export interface KeyvSinkOptions {
  /** Keyv namespace the items are stored under. @default 'items' */
  namespace?: string;
  /**
   * Item field whose value is the key, so re-crawling a page overwrites its item. Without it each
   * item gets a key unique to this run (`<run id>:<n>`).
   */
  keyField?: string;
}

/** Stores each item under a key in any keyv store: a `Keyv` instance, an adapter, or a URI via `sinkFromUri`. */
export class KeyvSink implements ItemSink {
  private keyv: Keyv | undefined;
  private readonly runId = Date.now().toString(36);
  private count = 0;

  constructor(
    private readonly store: Keyv | KeyvStoreAdapter | (() => Promise<KeyvStoreAdapter>),
    private readonly options: KeyvSinkOptions = {},
  ) {}

  async open(): Promise<void> {
    const store = typeof this.store === 'function' ? await this.store() : this.store;
    this.keyv =
      store instanceof Keyv ? store : new Keyv({ store, namespace: this.options.namespace ?? 'items' });
    // Keyv reports store errors as events; without a listener they would be thrown asynchronously.
    this.keyv.on('error', () => {});
  }

  async write(items: Item[]): Promise<void> {
    if (!this.keyv) throw new SinkError('keyv sink is not open');
    const entries = items.map((value) => ({ key: this.keyFor(value), value }));
    try {
      await this.keyv.setMany(entries);
    } catch (error) {
      throw new SinkError(`keyv write failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.keyv?.disconnect();
    this.keyv = undefined;
  }

  private keyFor(item: Item): string {
    const field = this.options.keyField;
    if (!field) return `${this.runId}:${this.count++}`;
    const value = item[field];
    if (typeof value !== 'string' && typeof value !== 'number')
      throw new SinkError(`item has no ${field} to use as its keyv key`);
    return String(value);
  }
}
