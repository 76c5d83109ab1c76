/**
 * The public face of a crawl: iterate it for items, or `pipeTo` sinks. Everything behind it (the
 * stages, the scheduling, the shutdown) is the engine's.
 */
import { abortable } from '../abortable.js';
import { AbortedError, errorRecord, OutputOpenError, UsageError } from '../errors.js';
import type { HostSnapshot } from '../fetcher/host-limits.js';
import type { CrawlOptions } from '../options.js';
import type { ItemSink } from '../storage/sink.js';
import type { Item } from '../types.js';
import { Engine } from './engine.js';
import { CrawlEvents } from './events.js';
import { type CrawlStats, newStats, type StopReason } from './stats.js';
import type { SpiderSource } from './wiring.js';

export type { SpiderSource } from './wiring.js';

const SINK_BATCH = 100;

/**
 * A running (or ready) crawl. Iterate it for items, or `pipeTo` sinks; `stats` and `events` report
 * progress. Nothing starts until the first item is asked for.
 */
export class Crawl implements AsyncIterable<Item> {
  readonly stats: CrawlStats = newStats();
  readonly events = new CrawlEvents();
  private readonly engine: Engine;
  private started = false;

  constructor(source: SpiderSource, options: CrawlOptions = {}) {
    this.engine = new Engine(source, options, this.stats, this.events);
  }

  /** Resolves with the final stats once the crawl has ended and released every resource. */
  get finished(): Promise<CrawlStats> {
    return this.engine.finished;
  }

  /** Each origin's limits in force, requests in flight and throttle state, busiest first. */
  hosts(): HostSnapshot[] {
    return this.engine.hosts();
  }

  /** Stops scheduling new requests; in-flight work finishes and its items are still delivered. */
  stop(reason: StopReason = 'aborted'): void {
    this.engine.stop(reason);
  }

  /** Cancels in-flight fetches and parses at once. */
  abort(): void {
    this.engine.abort();
  }

  /**
   * Items as they are parsed. An item counts as handled (for a job directory) once the loop asks
   * for the next one; breaking out of the loop stops the crawl and releases every resource.
   */
  [Symbol.asyncIterator](): AsyncIterator<Item> {
    this.begin();
    const engine = this.engine;
    engine.consumerReady();
    let taken = 0;
    return {
      next: async () => {
        if (taken) engine.ack(taken);
        taken = 0;
        try {
          const result = await engine.items.next();
          if (result.done) engine.consumerDone();
          else taken = 1;
          return result;
        } catch (error) {
          engine.consumerDone();
          throw error;
        }
      },
      return: async () => {
        engine.abort();
        await engine.finished.catch(() => undefined);
        return { value: undefined, done: true };
      },
    };
  }

  /**
   * Streams every item into the sinks (batched), closes them, and resolves with the final stats.
   * A page counts as done only once every sink's `write` of its items has resolved.
   */
  async pipeTo(...sinks: ItemSink[]): Promise<CrawlStats> {
    this.begin();
    const engine = this.engine;
    // A bad spider or start URL fails here, before any output file is created or truncated.
    await engine.ready;
    let failure: unknown;
    try {
      await openSinks(sinks, engine);
      engine.consumerReady();
      await writeBatches(sinks, engine, this.events);
    } catch (error) {
      failure = error;
      engine.abort();
    } finally {
      engine.consumerDone();
      for (const sink of sinks)
        await abortable(sink.close(), engine.signal).catch((error) => (failure ??= error));
    }
    const stats = await engine.finished;
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- what failed, rethrown as it was
    if (failure) throw failure;
    return stats;
  }

  private begin(): void {
    if (this.started) throw new UsageError('a crawl can be iterated only once');
    this.started = true;
    this.engine.start();
  }
}

/**
 * Every sink opens before the first request goes out: an output that cannot be created fails the
 * crawl before it starts. A stop or abort meanwhile ends a sink that hangs.
 */
async function openSinks(sinks: ItemSink[], engine: Engine): Promise<void> {
  for (const sink of sinks)
    await abortable(sink.open?.(engine.signal), engine.stopSignal).catch((error) => {
      if (error instanceof AbortedError || error instanceof OutputOpenError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new OutputOpenError(`output cannot be opened: ${message}`, { cause: error });
    });
}

/** Writes items to every sink in batches; a batch is acknowledged once every sink has it. */
async function writeBatches(sinks: ItemSink[], engine: Engine, events: CrawlEvents): Promise<void> {
  const batch: Item[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const items = batch.splice(0, batch.length);
    for (const [index, sink] of sinks.entries())
      await timedWrite(sink, sinkLabel(sink, index), items, engine, events);
    engine.ack(items.length);
  };
  for (;;) {
    const { value, done } = await engine.items.next();
    if (done) break;
    batch.push(value);
    // A full batch, or nothing more waiting: a slow trickle of items is not held back.
    if (batch.length >= SINK_BATCH || engine.items.size === 0) await flush();
  }
  await flush();
}

/** One batch into one sink, reported as a `sinkWrite` event whether it resolved or threw. */
async function timedWrite(
  sink: ItemSink,
  label: string,
  items: Item[],
  engine: Engine,
  events: CrawlEvents,
): Promise<void> {
  const started = performance.now();
  try {
    await abortable(sink.write(items, engine.signal), engine.signal);
  } catch (error) {
    const elapsedMs = performance.now() - started;
    if (!(error instanceof AbortedError))
      events.emit('sinkWrite', { sink: label, items: items.length, elapsedMs, error: errorRecord(error) });
    throw error;
  }
  events.emit('sinkWrite', { sink: label, items: items.length, elapsedMs: performance.now() - started });
}

/** A sink's name in metrics: its own `name`, else its class and position. */
function sinkLabel(sink: ItemSink, index: number): string {
  const named = (sink as { name?: unknown }).name;
  return typeof named === 'string' && named ? named : `${sink.constructor.name}#${index}`;
}

/**
 * Starts a crawl of a spider module path or an inline spider object. A relative module path is
 * resolved against `process.cwd()`, not against the calling file; for a spider beside the caller,
 * pass `fileURLToPath(new URL('./spider.ts', import.meta.url))`. `options.start` is an array, even
 * for one URL.
 */
export function crawl(source: SpiderSource, options: CrawlOptions = {}): Crawl {
  return new Crawl(source, options);
}
