import type { Item } from '../types.js';

/**
 * Where items go. Three methods: `open` once before the first write, `write` a batch (resolve only
 * once the batch is durable as far as the sink can tell), `close` once at the end (flush, release).
 */
export interface ItemSink {
  open?(signal?: AbortSignal): Promise<void>;
  write(items: Item[], signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
