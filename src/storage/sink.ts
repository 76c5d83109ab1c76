import type { Item } from '../types.js';

/** An item on its way to the outputs, with what identifies it. */
export interface StoredItem {
  /**
   * What identifies the item across runs, so a page crawled twice (a resumed or distributed crawl
   * delivers at least once) overwrites its rows: the spider's `itemKey(item)`, else the request
   * fingerprint and the item's index on its page (`<fingerprint>:<index>`).
   */
  key: string;
  /** The page the item was scraped from. */
  url: string;
  spider: string;
  /** When the page was parsed, epoch milliseconds. */
  scrapedAt: number;
  item: Item;
}

/** What a sink is given when it opens. */
export interface SinkContext {
  /** Aborts when the crawl is cancelled. */
  signal: AbortSignal;
  /** Reports something the user should know (a dropped field, a repaired file); the CLI logs it. */
  warn(message: string): void;
}

/**
 * Where items go. Three methods: `open` once before the first write, `write` a batch (resolve only
 * once the batch is durable as far as the sink can tell; throw and the batch is retried, so a
 * write must be safe to repeat), `close` once at the end (flush, release). Writes come one at a
 * time, in order.
 */
export interface Sink {
  /** Names the sink in logs, stats and its fallback file's name. @default the sink's class name */
  readonly label?: string;
  open?(context?: SinkContext): Promise<void>;
  write(batch: readonly StoredItem[], signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** The old name of `Sink`. */
export type ItemSink = Sink;

/**
 * The key of a record for an output keyed by an item field (`?key=field`); an item without that
 * field keeps its own key, so it is stored rather than lost.
 */
export function fieldKey(record: StoredItem, field: string | undefined): string {
  if (!field) return record.key;
  const value = record.item[field];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : record.key;
}
