import { errorRecord, redactUrl } from '../errors.js';
import type { HostSnapshot } from '../fetcher/host-limits.js';
import { type CrawlOptions, DEFAULTS, type ResolvedOptions, resolveOptions } from '../options.js';
import type { StoredItem } from '../storage/sink.js';
import type { CrawlRequest } from '../types.js';
import { Acks } from './acks.js';
import { Channel } from './channel.js';
import type { CrawlEvents, LogEvent } from './events.js';
import type { ConnectionEvent } from './redis-link.js';
import { Scheduler, type SchedulerContext } from './scheduler.js';
import { Shutdown } from './shutdown.js';
import { type CrawlStats, type StopReason, updateRates } from './stats.js';
import { Wakeup } from './wakeup.js';
import { loadSpider, type SpiderSource, type Stages, type WiringHooks, wire } from './wiring.js';

/**
 * One crawl from start to end: wires the stages, waits for the consumer, runs the scheduler,
 * winds down (stop grace, stages closed, item stream ended) and settles the stats. The consumer
 * side (`Crawl`) takes items from `items` and acknowledges them with `ack`.
 */
/** A host's pause from this long is said in the log. */
const LONG_PAUSE_MS = 10_000;

export class Engine {
  readonly items: Channel<StoredItem>;
  readonly finished: Promise<CrawlStats>;
  /** Settles once the spider is loaded, options resolved and start requests seeded. */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: unknown) => void;
  private resolveFinished!: (stats: CrawlStats) => void;
  private rejectFinished!: (error: unknown) => void;
  private readonly shutdown = new Shutdown();
  private readonly wakeup = new Wakeup();
  private readonly acks = new Acks((done) => this.reportDone(done));
  /** Tells the store which requests are done; nothing is taken before the store exists. */
  private reportDone: (requests: CrawlRequest[]) => void = () => undefined;
  private resolved: ResolvedOptions | undefined;
  private resolveGo!: () => void;
  /** Settles once the consumer is ready (sinks open) or the crawl is stopped first. */
  private readonly go = new Promise<void>((resolve) => {
    this.resolveGo = resolve;
  });
  private stages: Stages | undefined;
  private resolveConsumer!: () => void;
  private readonly consumerFinished = new Promise<void>((resolve) => {
    this.resolveConsumer = resolve;
  });

  constructor(
    private readonly source: SpiderSource,
    private readonly userOptions: CrawlOptions,
    private readonly stats: CrawlStats,
    private readonly events: CrawlEvents,
  ) {
    this.items = new Channel<StoredItem>(userOptions.itemBuffer ?? DEFAULTS.itemBuffer);
    this.finished = new Promise((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    // Callers that only iterate should not see an unhandled rejection from these promises.
    this.finished.catch(() => undefined);
    this.ready.catch(() => undefined);
  }

  /** The resolved options; set once `ready` has resolved. */
  get options(): ResolvedOptions {
    if (!this.resolved) throw new Error('the crawl options are not resolved yet');
    return this.resolved;
  }

  get signal(): AbortSignal {
    return this.shutdown.signal;
  }

  get stopSignal(): AbortSignal {
    return this.shutdown.stopSignal;
  }

  /** Per-origin limits and load; empty until the stages are wired. */
  hosts(): HostSnapshot[] {
    return this.stages?.hostLimits.snapshot() ?? [];
  }

  /** The consumer is ready for items (its sinks are open): requests may go out. */
  consumerReady(): void {
    this.resolveGo();
  }

  /** The consumer will take no more items (stream ended, loop left, or sinks closed). */
  consumerDone(): void {
    this.resolveConsumer();
  }

  /**
   * The consumer has handled `count` more items (a sink write resolved, or the loop moved on).
   * Pages whose items are all handled are done: with a job directory they are marked so on disk.
   */
  ack(count: number): void {
    this.acks.ack(count);
  }

  start(): void {
    void this.run();
  }

  stop(reason: StopReason): void {
    this.shutdown.stop(reason);
    this.resolveGo();
    this.wakeup.notify();
  }

  abort(): void {
    this.stop('aborted');
    this.shutdown.abort();
    this.items.close();
    this.resolveConsumer();
  }

  private async run(): Promise<void> {
    const startedMs = performance.now();
    let stages: Stages;
    try {
      const loaded = await loadSpider(this.source);
      const options = resolveOptions(loaded.spider.settings, this.userOptions);
      this.resolved = options;
      stages = await wire(loaded, options, this.wiringHooks());
    } catch (error) {
      this.rejectReady(error);
      this.shutdown.fail(error);
      this.items.fail(error);
      this.resolveConsumer();
      updateRates(this.stats, performance.now() - startedMs);
      this.settle(error);
      return;
    }
    this.stages = stages;
    const { store } = stages;
    this.reportDone = (requests) =>
      void store.done(requests).catch((error) => this.storeFailed(error, store.location));
    const scheduler = new Scheduler(stages, this.schedulerContext(), startedMs);
    this.stats.restored = stages.restored;
    this.stats.bounds = {
      inFlight: stages.options.concurrency,
      parseBacklog: scheduler.parseCapacity,
      itemBacklog: this.items.capacity,
    };
    this.resolveReady();
    let fatal = await this.operate(stages, scheduler);
    await scheduler.drain();
    await Promise.allSettled([stages.pool.close(), stages.fetcher.close()]);
    if (fatal) {
      this.items.fail(fatal);
      this.resolveConsumer();
    } else {
      this.items.close();
    }
    // Pages are done only once the consumer has handled their items, so the store closes last.
    await this.consumerFinished;
    await store.close().catch((error) => (fatal ??= error));
    // Taken from the frontier and not done: cancelled in flight, or items never handled.
    this.stats.unfinished = this.acks.unfinished;
    scheduler.updateGauges();
    this.stats.stopReason ??=
      this.shutdown.reason ?? (scheduler.droppedForDepth && !fatal ? 'maxDepth' : undefined);
    this.settle(fatal);
  }

  /** Waits for the consumer, then schedules until the crawl is over; resolves with a fatal error, if any. */
  private async operate(stages: Stages, scheduler: Scheduler): Promise<unknown> {
    const signal = this.userOptions.signal;
    const onUserAbort = () => this.abort();
    let timeLimit: NodeJS.Timeout | undefined;
    try {
      signal?.addEventListener('abort', onUserAbort, { once: true });
      if (signal?.aborted) this.abort();
      await this.go;
      // In a distributed crawl the time limit counts from the start of its first process.
      const limitMs = stages.options.timeLimitMs - (stages.store.limits?.elapsedMs ?? 0);
      if (Number.isFinite(limitMs)) timeLimit = setTimeout(() => this.stop('timeLimit'), limitMs);
      await scheduler.run();
      return undefined;
    } catch (error) {
      this.shutdown.fail(error);
      return error;
    } finally {
      clearTimeout(timeLimit);
      signal?.removeEventListener('abort', onUserAbort);
    }
  }

  private wiringHooks(): WiringHooks {
    return {
      storeFailed: (error, where) => this.storeFailed(error, where),
      workerFailed: (error) =>
        this.events.emit('log', { level: 'error', message: `parser worker failed: ${error.message}` }),
      leaseFailed: (error) =>
        this.events.emit('log', {
          level: 'warn',
          message: `${error.message}; requests held by this process may be taken over by others`,
        }),
      connection: (event) => this.events.emit('log', connectionLog(event)),
      // A long wait says why the crawl seems to stand still; short ones would flood the log.
      paused: (origin, pauseMs) => {
        if (pauseMs >= LONG_PAUSE_MS)
          this.events.emit('log', {
            level: 'info',
            message: `${origin} asked to wait: its requests resume in ${Math.round(pauseMs / 1000)} s`,
          });
      },
      report: () => ({
        pages: this.stats.pages,
        items: this.stats.items,
        failed: this.stats.failed,
        inFlight: this.stats.gauges.inFlight,
      }),
      stopReason: () => this.stats.stopReason ?? this.shutdown.reason ?? 'finished',
    };
  }

  private schedulerContext(): SchedulerContext {
    return {
      stats: this.stats,
      events: this.events,
      items: this.items,
      acks: this.acks,
      shutdown: this.shutdown,
      wakeup: this.wakeup,
      stop: (reason) => this.stop(reason),
      storeFailed: (error, where) => this.storeFailed(error, where),
    };
  }

  /**
   * The job directory or the shared frontier failed. Going on would break the resume promise (or
   * the agreement with the other processes on what is done), so the crawl ends with the error.
   */
  private storeFailed(error: unknown, where: string): void {
    if (this.shutdown.signal.aborted) return;
    this.stats.stopReason = 'error';
    this.events.emit('failure', {
      url: redactUrl(where),
      error: errorRecord(error),
      attempts: 0,
      callback: '',
      stage: 'item',
      depth: 0,
    });
    this.abort();
  }

  private settle(fatal: unknown): void {
    this.stats.finishedAt = new Date().toISOString();
    this.stats.stopReason ??= fatal ? 'error' : 'finished';
    if (fatal) {
      this.rejectFinished(fatal);
    } else {
      this.events.emit('finished', this.stats);
      this.resolveFinished(this.stats);
    }
  }
}

function connectionLog(event: ConnectionEvent): LogEvent {
  return event.state === 'lost'
    ? {
        level: 'warn',
        message: `Redis connection lost (${event.reason ?? 'unknown'}): reconnecting; work in flight goes on`,
      }
    : { level: 'info', message: `Redis connection back after ${event.downMs ?? 0} ms` };
}
