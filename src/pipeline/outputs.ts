/**
 * The sink stage: items from the engine's stream go in batches to every output, each behind its
 * own `SinkWriter` (bounded queue, retries, fallback file). A batch is acknowledged to the engine
 * (and so, with a job directory, its pages marked done) once every output or its fallback holds it.
 */
import { abortable } from '../abortable.js';
import { AbortedError, errorRecord, OutputOpenError, redactUrl } from '../errors.js';
import type { Sink, StoredItem } from '../storage/sink.js';
import { SinkWriter } from '../storage/sink-writer.js';
import type { Engine } from './engine.js';
import type { CrawlEvents } from './events.js';
import type { CrawlStats } from './stats.js';

export class Outputs {
  private readonly writers: SinkWriter[];
  private acked: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  /** A batch went unstored (a failure or an abort): no later batch may be acknowledged either. */
  private broken = false;

  constructor(
    sinks: Sink[],
    private readonly engine: Engine,
    private readonly stats: CrawlStats,
    private readonly events: CrawlEvents,
  ) {
    const options = engine.options.sinks;
    const settings = {
      giveUpAfterMs: options.giveUpAfterMs,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
      queueBatches: options.queueBatches,
      fallbackDir: options.fallbackDir ?? engine.options.jobDir ?? process.cwd(),
    };
    const hooks = {
      wrote: (sink: { label: string }, items: number, elapsedMs: number) =>
        events.emit('sinkWrite', { sink: sink.label, items, elapsedMs }),
      retrying: (sink: { label: string }, error: unknown, delayMs: number) => {
        stats.sinkFailures++;
        const record = errorRecord(error);
        events.emit('sinkRetry', { sink: sink.label, error: record, delayMs });
        events.emit('log', {
          level: 'warn',
          message: `output ${sink.label} failed (${record.message}); retrying in ${delayMs} ms, the crawl waits`,
        });
      },
      gaveUp: (sink: { label: string; fallback: string | undefined }, error: unknown) => {
        if (!(error instanceof AbortedError)) stats.sinkFailures++;
        const record = errorRecord(error);
        const path = sink.fallback!;
        events.emit('sinkFallback', { sink: sink.label, path, error: record });
        events.emit('log', {
          level: 'error',
          message: `output ${sink.label} did not recover (${record.message}); its items go to ${path}`,
        });
      },
    };
    this.writers = sinks.map((sink) => new SinkWriter(sink, settings, engine.signal, hooks));
    stats.sinks = this.writers.map((w) => w.stats);
  }

  /**
   * Every output opens before the first request goes out: one that cannot be created fails the
   * crawl before it starts. A stop or abort meanwhile ends a sink that hangs.
   */
  async open(): Promise<void> {
    const context = {
      signal: this.engine.signal,
      warn: (message: string) => this.events.emit('log', { level: 'warn', message }),
    };
    for (const { sink } of this.writers)
      await abortable(sink.open?.(context), this.engine.stopSignal).catch((error) => {
        if (error instanceof AbortedError || error instanceof OutputOpenError) throw error;
        const message = error instanceof Error ? error.message : String(error);
        throw new OutputOpenError(`output ${redactUrl(sink.label ?? '')} cannot be opened: ${message}`, {
          cause: error,
        });
      });
  }

  /** Writes the item stream to every output in batches until it ends; then waits for the writes. */
  async run(): Promise<void> {
    const batchSize = this.engine.options.sinks.batchSize;
    const items = this.engine.items;
    let batch: StoredItem[] = [];
    for (;;) {
      this.throwIfFailed();
      const { value, done } = await items.next();
      if (done) break;
      batch.push(value);
      // A full batch, or nothing more waiting: a slow trickle of items is not held back.
      if (batch.length >= batchSize || items.size === 0) {
        await this.send(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await this.send(batch);
    await this.settled();
  }

  /** Waits for what is queued to be stored and acknowledged (or given up on an abort). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.writers.map((w) => w.drain()));
    await this.acked;
    this.throwIfFailed();
  }

  /** Closes every output; the first error is thrown once all have been tried. */
  async close(): Promise<void> {
    let failure: { error: unknown } | undefined;
    for (const writer of this.writers) await writer.close().catch((error) => (failure ??= { error }));
    this.stats.fallbackItems = this.writers.reduce((n, w) => n + w.stats.fallbackItems, 0);

    if (failure) throw failure.error;
  }

  private async send(batch: StoredItem[]): Promise<void> {
    const stored: Array<Promise<void>> = [];
    for (const writer of this.writers) stored.push((await writer.push(batch)).stored);
    const all = Promise.all(stored);
    // Acknowledged in batch order; a batch whose write was cut short by an abort stays unacknowledged.
    this.acked = this.acked.then(() =>
      all.then(
        () => {
          if (!this.broken) this.engine.ack(batch.length);
        },
        (error: unknown) => {
          this.broken = true;
          if (!(error instanceof AbortedError)) this.failure ??= { error };
        },
      ),
    );
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
