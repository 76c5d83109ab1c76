import { createClient } from '@redis/client';
import { OutputOpenError, SinkError } from '../errors.js';
import type { Sink, StoredItem } from './sink.js';

export interface RedisStreamSinkOptions {
  /** The stream key items are added to. */
  stream: string;
  /**
   * Entries the stream keeps, trimmed approximately (`MAXLEN ~`), so a stream nobody reads does
   * not grow without end; 0 keeps everything. @default 1_000_000
   */
  maxLen?: number;
  /** Names the sink in logs and stats. */
  label?: string;
}

type Client = ReturnType<typeof createClient>;

/**
 * Appends each item to a Redis stream (`XADD`) as fields `key`, `url`, `spider`, `scrapedAt` and
 * `item` (JSON), one pipelined round trip per batch, so other programs consume items as they
 * arrive (`XREADGROUP` with a consumer group reads each once). A dropped connection is
 * re-established in the background; writes meanwhile fail at once and are retried.
 */
export class RedisStreamSink implements Sink {
  readonly label: string;
  private client: Client | undefined;

  constructor(
    private readonly url: string,
    private readonly options: RedisStreamSinkOptions,
  ) {
    this.label = options.label ?? `redis stream ${options.stream}`;
  }

  async open(): Promise<void> {
    let connected = false;
    const client: Client = createClient({
      url: this.url,
      // Fail a command while disconnected instead of queueing it: the sink's retries take over.
      disableOfflineQueue: true,
      // An output that cannot be reached at the start fails the crawl before it begins; one lost
      // later is reconnected to in the background.
      socket: {
        connectTimeout: 5_000,
        reconnectStrategy: (retries: number) => (connected ? Math.min(50 * 2 ** retries, 2_000) : false),
      },
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      connected = true;
    } catch (error) {
      if (client.isOpen) client.destroy();
      throw new OutputOpenError(
        `cannot connect to Redis for stream ${this.options.stream}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    this.client = client;
  }

  async write(batch: readonly StoredItem[]): Promise<void> {
    const client = this.client;
    if (!client) throw new SinkError('Redis stream sink is not open');
    const maxLen = this.options.maxLen ?? 1_000_000;
    const trim =
      maxLen > 0
        ? { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: maxLen } }
        : {};
    try {
      const multi = client.multi();
      for (const { key, url, spider, scrapedAt, item } of batch)
        multi.xAdd(
          this.options.stream,
          '*',
          { key, url, spider, scrapedAt: new Date(scrapedAt).toISOString(), item: JSON.stringify(item) },
          trim,
        );
      await multi.execAsPipeline();
    } catch (error) {
      throw new SinkError(`XADD to ${this.options.stream} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.isOpen) await client.close();
    else client?.destroy();
  }
}
