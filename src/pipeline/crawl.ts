/**
 * The public face of a crawl: iterate it for items, or `pipeTo` sinks. Everything behind it (the
 * stages, the scheduling, the shutdown) is the engine's.
 */
import { UsageError } from '../errors.js';
import type { HostSnapshot } from '../fetcher/host-limits.js';
import type { CrawlOptions } from '../options.js';
import type { Sink } from '../storage/sink.js';
import type { Item } from '../types.js';
import { Engine } from './engine.js';
import { CrawlEvents } from './events.js';
import { Outputs } from './outputs.js';
import { type CrawlStats, newStats, type StopReason } from './stats.js';
import type { SpiderSource } from './wiring.js';

export type { SpiderSource } from './wiring.js';

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
          if (result.done) {
            engine.consumerDone();
            return result;
          }
          taken = 1;
          return { value: result.value.item, done: false };
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
   * Streams every item into the sinks, each behind its own bounded queue; closes them and resolves
   * with the final stats. A page counts as done only once every sink (or its fallback file) holds
   * its items. A sink that fails is retried while the crawl waits, then given up on: its items go to
   * a fallback file (`stats.sinks[i].fallback`) and the other sinks go on.
   */
  async pipeTo(...sinks: Sink[]): Promise<CrawlStats> {
    this.begin();
    const engine = this.engine;
    // A bad spider or start URL fails here, before any output file is created or truncated.
    await engine.ready;
    const outputs = new Outputs(sinks, engine, this.stats, this.events);
    let failure: unknown;
    try {
      await outputs.open();
      engine.consumerReady();
      await outputs.run();
    } catch (error) {
      failure = error;
      engine.abort();
      await outputs.settled().catch(() => undefined);
    } finally {
      engine.consumerDone();
      await outputs.close().catch((error) => (failure ??= error));
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
 * Starts a crawl of a spider module path or an inline spider object. A relative module path is
 * resolved against `process.cwd()`, not against the calling file; for a spider beside the caller,
 * pass `fileURLToPath(new URL('./spider.ts', import.meta.url))`. `options.start` is an array, even
 * for one URL.
 */
export function crawl(source: SpiderSource, options: CrawlOptions = {}): Crawl {
  return new Crawl(source, options);
}
