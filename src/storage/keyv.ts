import Keyv, { type KeyvStoreAdapter } from 'keyv';
import { SinkError } from '../errors.js';
import { fieldKey, type Sink, type StoredItem } from './sink.js';

export interface KeyvSinkOptions {
  /** Keyv namespace the items are stored under. @default 'items' */
  namespace?: string;
  /**
   * Item field whose value is the key (`?key=url`). Without it the item's key is the spider's
   * `itemKey(item)`, else the request fingerprint and the item's index on its page; either way
   * re-crawling a page overwrites its items.
   */
  keyField?: string;
  /** Names the sink in logs and stats. */
  label?: string;
}

/** Stores each item under a key in any keyv store: a `Keyv` instance, an adapter, or a URI via `sinkFromUri`. */
export class KeyvSink implements Sink {
  readonly label: string;
  private keyv: Keyv | undefined;

  constructor(
    private readonly store: Keyv | KeyvStoreAdapter | (() => Promise<KeyvStoreAdapter>),
    private readonly options: KeyvSinkOptions = {},
  ) {
    this.label = options.label ?? 'keyv';
  }

  async open(): Promise<void> {
    const store = typeof this.store === 'function' ? await this.store() : this.store;
    this.keyv =
      store instanceof Keyv ? store : new Keyv({ store, namespace: this.options.namespace ?? 'items' });
    // Keyv reports store errors as events; without a listener they would be thrown asynchronously.
    this.keyv.on('error', () => {});
  }

  async write(batch: readonly StoredItem[]): Promise<void> {
    if (!this.keyv) throw new SinkError('keyv sink is not open');
    const entries = batch.map((record) => ({ key: this.keyFor(record), value: record.item }));
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

  private keyFor(record: StoredItem): string {
    return fieldKey(record, this.options.keyField);
  }
}
