import { setTimeout as sleep } from 'node:timers/promises';
import PQueue from 'p-queue';
import { abortable } from '../abortable.js';
import { AbortedError } from '../errors.js';
import { FallbackFile } from './fallback.js';
import type { Sink, StoredItem } from './sink.js';

/** What one output did during the crawl; part of the crawl's stats. */
export interface SinkStats {
  label: string;
  /** Items the sink itself holds (its writes resolved). */
  items: number;
  batches: number;
  /** Write attempts that threw (each retry that failed counts). */
  failures: number;
  /** Time spent in writes that succeeded, and the slowest of them, in milliseconds. */
  writeMs: number;
  maxWriteMs: number;
  /** Items written to the fallback file instead of the sink. */
  fallbackItems: number;
  /** The fallback file, once the sink was given up on. */
  fallback: string | undefined;
  lastError: string | undefined;
}

export interface SinkWriterSettings {
  giveUpAfterMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  queueBatches: number;
  fallbackDir: string;
}

export interface SinkWriterHooks {
  wrote(stats: SinkStats, items: number, ms: number): void;
  retrying(stats: SinkStats, error: unknown, delayMs: number): void;
  gaveUp(stats: SinkStats, error: unknown): void;
}

/**
 * Delay before retry `attempt` (1-based) of a failed write: exponential from `baseMs`, capped at
 * `maxMs`, with jitter over its upper half so sinks failing together do not retry in step.
 */
export function sinkRetryDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random = Math.random(),
): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(step / 2 + (step / 2) * random);
}

/**
 * One output behind its own bounded queue: batches are written one at a time, in order; a write
 * that throws is retried with backoff while the queue (and so the crawl) waits; a sink that has
 * not recovered within `giveUpAfterMs` has this batch and every later one written to a fallback
 * JSONL file instead. A slow sink holds the others back only once its queue is full.
 */
export class SinkWriter {
  readonly stats: SinkStats;
  private readonly queue = new PQueue({ concurrency: 1 });
  private fallback: FallbackFile | undefined;

  constructor(
    readonly sink: Sink,
    private readonly settings: SinkWriterSettings,
    private readonly signal: AbortSignal,
    private readonly hooks: SinkWriterHooks,
  ) {
    this.stats = {
      label: sink.label ?? sink.constructor.name,
      items: 0,
      batches: 0,
      failures: 0,
      writeMs: 0,
      maxWriteMs: 0,
      fallbackItems: 0,
      fallback: undefined,
      lastError: undefined,
    };
  }

  /**
   * Queues a batch once the queue has room. The returned promise (wrapped, so awaiting this call
   * waits for room only) settles once the sink or its fallback holds the batch.
   */
  async push(batch: readonly StoredItem[]): Promise<{ stored: Promise<void> }> {
    const limit = this.settings.queueBatches;
    if (this.queue.size >= limit) await abortable(this.queue.onSizeLessThan(limit), this.signal);
    return { stored: this.queue.add(() => this.store(batch)) };
  }

  /** Resolves once every queued batch is stored (or its write gave up on an abort). */
  async drain(): Promise<void> {
    await this.queue.onIdle();
  }

  async close(): Promise<void> {
    try {
      await abortable(this.sink.close(), this.signal);
    } catch (error) {
      // A sink given up on is broken by definition; its items are safe in the fallback file, so
      // its failing close is not a second failure of the crawl.
      if (!this.fallback) throw error;
    } finally {
      await this.fallback?.close();
    }
  }

  private async store(batch: readonly StoredItem[]): Promise<void> {
    if (this.fallback) return this.toFallback(batch);
    const deadline = performance.now() + this.settings.giveUpAfterMs;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        await abortable(this.sink.write(batch, this.signal), this.signal);
        this.written(batch, performance.now() - started);
        return;
      } catch (error) {
        // A healthy sink cut short by a cancelled crawl: the batch is not acknowledged, so a job
        // directory fetches its pages again; no fallback for a sink that never failed.
        if (attempt === 1 && error instanceof AbortedError) throw error;
        if (!(error instanceof AbortedError)) {
          this.stats.failures++;
          this.stats.lastError = error instanceof Error ? error.message : String(error);
        }
        const delayMs = sinkRetryDelay(attempt, this.settings.retryBaseMs, this.settings.retryMaxMs);
        if (this.signal.aborted || performance.now() + delayMs > deadline) {
          this.giveUp(error);
          return this.toFallback(batch);
        }
        this.hooks.retrying(this.stats, error, delayMs);
        await sleep(delayMs, undefined, { signal: this.signal }).catch(() => undefined);
      }
    }
  }

  private written(batch: readonly StoredItem[], ms: number): void {
    const s = this.stats;
    s.items += batch.length;
    s.batches++;
    s.writeMs += ms;
    s.maxWriteMs = Math.max(s.maxWriteMs, Math.round(ms));
    this.hooks.wrote(s, batch.length, ms);
  }

  private giveUp(error: unknown): void {
    this.fallback = new FallbackFile(this.settings.fallbackDir, this.stats.label);
    this.stats.fallback = this.fallback.path;
    this.hooks.gaveUp(this.stats, error);
  }

  private async toFallback(batch: readonly StoredItem[]): Promise<void> {
    await this.fallback!.write(batch);
    this.stats.fallbackItems += batch.length;
  }
}
