/**
 * The one place that knows every stage: it wires spider -> frontier -> fetcher -> parser pool ->
 * item stream with bounded hand-offs, so a slow sink pauses parsing and slow parsing pauses fetching.
 */
import {
  AbortedError,
  errorRecord,
  HttpStatusError,
  InvalidUrlError,
  ParseTimeoutError,
  SpiderInvalidError,
  TrawlError,
  WorkerCrashError,
} from '../errors.js';
import { Fetcher } from '../fetcher/fetcher.js';
import { HostLimits } from '../fetcher/host-limits.js';
import { isRetryable, retryDelayMs } from '../fetcher/retry.js';
import { importModule, resolveModulePath } from '../load-module.js';
import { type CrawlOptions, type ResolvedOptions, resolveOptions } from '../options.js';
import { ParserPool } from '../parser/pool.js';
import type { ParseOutcome, ParseTask } from '../parser/protocol.js';
import { type Spider, type StartEntry, spiderFromModule, validateSpider } from '../spider.js';
import type { ItemSink } from '../storage/sink.js';
import type { CrawlRequest, FailureRecord, FetchedResponse, Item, RequestInit } from '../types.js';
import { Channel } from './channel.js';
import { CrawlEvents } from './events.js';
import { Frontier } from './frontier.js';
import { type CrawlStats, countError, countStatus, newStats, type StopReason } from './stats.js';

/** A spider module path, or an inline spider object (parsed on the main thread). */
export type SpiderSource = string | Spider;

/** Pages fetched but not yet parsed, per parser thread. */
const PARSE_QUEUE_PER_WORKER = 2;
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

  /** Stops scheduling new requests; in-flight work finishes and its items are still delivered. */
  stop(reason: StopReason = 'aborted'): void {
    this.engine.stop(reason);
  }

  /** Cancels in-flight fetches and parses at once. */
  abort(): void {
    this.engine.abort();
  }

  [Symbol.asyncIterator](): AsyncIterator<Item> {
    if (this.started) throw new TrawlError('TRAWL_ERR_USAGE', 'a crawl can be iterated only once');
    this.started = true;
    this.engine.start();
    const items = this.engine.items;
    return {
      next: () => items.next(),
      return: async () => {
        this.engine.abort();
        await this.engine.finished.catch(() => undefined);
        return { value: undefined, done: true };
      },
    };
  }

  /** Streams every item into the sinks (batched), closes them, and resolves with the final stats. */
  async pipeTo(...sinks: ItemSink[]): Promise<CrawlStats> {
    const iterator = this[Symbol.asyncIterator]();
    // A bad spider or start URL fails here, before any output file is created or truncated.
    await this.engine.ready;
    for (const sink of sinks) await sink.open?.();
    let failure: unknown;
    try {
      const batch: Item[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const items = batch.splice(0, batch.length);
        for (const sink of sinks) await sink.write(items);
      };
      for (;;) {
        const { value, done } = await iterator.next();
        if (done) break;
        batch.push(value);
        if (batch.length >= SINK_BATCH || this.engine.items.size === 0) await flush();
      }
      await flush();
    } catch (error) {
      failure = error;
      this.engine.abort();
    } finally {
      for (const sink of sinks) await sink.close();
    }
    const stats = await this.engine.finished;
    if (failure) throw failure;
    return stats;
  }
}

/** Starts a crawl of a spider module path or an inline spider object. */
export function crawl(source: SpiderSource, options: CrawlOptions = {}): Crawl {
  return new Crawl(source, options);
}

class Wakeup {
  private resolve: (() => void) | undefined;
  notify(): void {
    this.resolve?.();
    this.resolve = undefined;
  }
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => this.notify(), Math.max(1, ms)) : undefined;
      this.resolve = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }
}

class Engine {
  readonly items: Channel<Item>;
  readonly finished: Promise<CrawlStats>;
  /** Settles once the spider is loaded, options resolved and start requests seeded. */
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: unknown) => void;
  private resolveFinished!: (stats: CrawlStats) => void;
  private rejectFinished!: (error: unknown) => void;
  private readonly controller = new AbortController();
  private readonly wakeup = new Wakeup();
  private stopReason: StopReason | undefined;
  private options!: ResolvedOptions;
  private spider!: Spider;
  private spiderPath: string | undefined;
  private frontier!: Frontier;
  private hostLimits!: HostLimits;
  private fetcher: Fetcher | undefined;
  private pool: ParserPool | undefined;
  private fetching = 0;
  private parseSlots = 0;
  private parseCapacity = 1;
  private readonly parseWaiters: Array<() => void> = [];
  private readonly tasks = new Set<Promise<void>>();
  private firstAttempts = 0;
  private startedMs = 0;

  constructor(
    private readonly source: SpiderSource,
    private readonly userOptions: CrawlOptions,
    private readonly stats: CrawlStats,
    private readonly events: CrawlEvents,
  ) {
    this.items = new Channel<Item>(userOptions.itemBuffer ?? 1000);
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

  start(): void {
    void this.run();
  }

  stop(reason: StopReason): void {
    this.stopReason ??= reason;
    this.wakeup.notify();
  }

  abort(): void {
    this.stop('aborted');
    this.controller.abort(new AbortedError());
    this.items.close();
    this.releaseParseWaiters();
  }

  private async run(): Promise<void> {
    let fatal: unknown;
    let timeLimit: NodeJS.Timeout | undefined;
    const onUserAbort = () => this.abort();
    try {
      await this.setup().then(this.resolveReady, (error) => {
        this.rejectReady(error);
        throw error;
      });
      this.userOptions.signal?.addEventListener('abort', onUserAbort, { once: true });
      if (this.userOptions.signal?.aborted) this.abort();
      if (Number.isFinite(this.options.timeLimitMs))
        timeLimit = setTimeout(() => this.stop('timeLimit'), this.options.timeLimitMs);
      await this.schedule();
    } catch (error) {
      fatal = error;
      this.stopReason = 'error';
      this.controller.abort(error);
    } finally {
      clearTimeout(timeLimit);
      this.userOptions.signal?.removeEventListener('abort', onUserAbort);
      await Promise.allSettled([...this.tasks]);
      await Promise.allSettled([this.pool?.close(), this.fetcher?.close()]);
      this.stats.finishedAt = new Date().toISOString();
      this.updateGauges();
      this.stats.stopReason ??= this.stopReason ?? 'finished';
      if (fatal) {
        this.items.fail(fatal);
        this.rejectFinished(fatal);
      } else {
        this.items.close();
        this.events.emit('finished', this.stats);
        this.resolveFinished(this.stats);
      }
    }
  }

  private async setup(): Promise<void> {
    this.startedMs = performance.now();
    if (typeof this.source === 'string') {
      this.spiderPath = resolveModulePath(this.source);
      this.spider = spiderFromModule(await importModule(this.spiderPath), this.source);
    } else {
      validateSpider(this.source, 'inline spider');
      this.spider = this.source;
    }
    this.options = resolveOptions(this.spider.settings, this.userOptions);
    const seeds = await this.startRequests();
    const allowed = this.options.followOtherHosts
      ? undefined
      : new Set(this.options.allowedHosts ?? seeds.map((s) => new URL(s.url).hostname.toLowerCase()));
    this.frontier = new Frontier({ maxDepth: this.options.maxDepth, allowedHosts: allowed });
    for (const seed of seeds) {
      const added = this.frontier.add(seed);
      if (added === 'invalid') throw new InvalidUrlError(seed.url);
    }
    this.hostLimits = new HostLimits(this.options.perHost, this.options.hosts);
    this.fetcher = new Fetcher({
      userAgent: this.options.userAgent,
      headers: this.options.headers,
      timeouts: this.options.timeouts,
      maxBodyBytes: this.options.maxBodyBytes,
      maxRedirects: this.options.maxRedirects,
      connectionsPerOrigin: Math.max(
        this.options.perHost.concurrency,
        ...this.options.hosts.map((h) => h.concurrency ?? 0),
      ),
    });
    // Inline spider objects have no module path a worker could import, so they parse here.
    const workers = this.spiderPath ? this.options.workers : 0;
    this.pool = new ParserPool({
      workers,
      parseTimeoutMs: this.options.parseTimeoutMs,
      spider: this.spider,
      ...(this.options.workerHeapMb ? { workerHeapMb: this.options.workerHeapMb } : {}),
      onWorkerError: (error) =>
        this.events.emit('log', { level: 'error', message: `parser worker failed: ${error.message}` }),
    });
    this.parseCapacity = this.pool.size * PARSE_QUEUE_PER_WORKER;
  }

  private async startRequests(): Promise<RequestInit[]> {
    const entries: StartEntry[] = [];
    if (this.options.start) entries.push(...this.options.start);
    else if (this.spider.start) for await (const entry of this.spider.start()) entries.push(entry);
    else entries.push(...(this.spider.startUrls ?? []));
    if (entries.length === 0)
      throw new SpiderInvalidError(
        `spider ${this.spider.name} has no start URLs (set startUrls, start(), or --start)`,
      );
    return entries.map((entry) => {
      const init = typeof entry === 'string' ? { url: entry } : entry;
      let url: URL;
      try {
        url = new URL(init.url);
      } catch {
        throw new InvalidUrlError(String(init.url));
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidUrlError(init.url);
      return init;
    });
  }

  /** The scheduler: start requests from hosts with capacity until the frontier and every stage are empty. */
  private async schedule(): Promise<void> {
    for (;;) {
      let waitMs = Number.POSITIVE_INFINITY;
      while (!this.stopReason && this.fetching < this.options.concurrency) {
        const pick = this.frontier.next(this.hostLimits);
        if (!pick) break;
        if ('waitMs' in pick) {
          waitMs = pick.waitMs;
          break;
        }
        const request = pick.request;
        if (request.attempts === 0) {
          if (this.firstAttempts >= this.options.maxPages) {
            this.frontier.requeue(request);
            this.stop('maxPages');
            break;
          }
          this.firstAttempts++;
        }
        this.launch(request);
      }
      this.updateGauges();
      if (this.tasks.size === 0 && (this.stopReason || this.frontier.pending === 0)) return;
      await this.wakeup.wait(this.stopReason ? Number.POSITIVE_INFINITY : waitMs);
    }
  }

  private launch(request: CrawlRequest): void {
    const task = this.process(request).catch((error) => {
      // process() records its own failures; anything here is a bug in a stage, kept visible.
      this.recordFailure(request, error, 'fetch');
    });
    this.tasks.add(task);
    void task.finally(() => {
      this.tasks.delete(task);
      this.wakeup.notify();
    });
  }

  private async process(request: CrawlRequest): Promise<void> {
    const origin = new URL(request.url).origin;
    const signal = this.controller.signal;
    this.fetching++;
    this.stats.gauges.maxInFlight = Math.max(this.stats.gauges.maxInFlight, this.fetching);
    this.hostLimits.acquire(origin);
    request.attempts++;
    this.stats.requests++;
    this.events.emit('request', request);
    let response: FetchedResponse;
    try {
      response = await this.fetcher!.fetch(request, signal);
    } catch (error) {
      this.hostLimits.release(origin);
      this.fetching--;
      this.fetchFailed(request, error);
      return;
    }
    this.hostLimits.release(origin);
    response.attempts = request.attempts;
    this.stats.bytes += response.wireBytes;
    countStatus(this.stats, response.status);
    this.events.emit('response', {
      url: response.url,
      status: response.status,
      bytes: response.wireBytes,
      elapsedMs: response.elapsedMs,
      request,
    });
    // Hold the fetch slot until the parse queue has room: slow parsing pauses fetching.
    const gotSlot = await this.acquireParseSlot();
    this.fetching--;
    this.wakeup.notify();
    if (!gotSlot) return;
    let outcome: ParseOutcome | undefined;
    try {
      outcome = await this.parse(request, response, signal);
    } finally {
      this.releaseParseSlot();
    }
    if (outcome) await this.deliver(request, outcome);
  }

  private async parse(
    request: CrawlRequest,
    response: FetchedResponse,
    signal: AbortSignal,
  ): Promise<ParseOutcome | undefined> {
    const task: ParseTask = {
      spiderPath: this.spiderPath ?? '',
      callback: request.callback,
      request: {
        url: request.url,
        method: request.method,
        callback: request.callback,
        depth: request.depth,
        userData: request.userData,
        ...(request.referrer ? { referrer: request.referrer } : {}),
      },
      url: response.url,
      status: response.status,
      headers: response.headers,
      encoding: response.encoding,
      body: response.body,
    };
    // The first attempt transfers the body to a worker; a crash loses it, so keep a copy for the retry.
    const spare = this.pool!.transfersBody ? response.body.slice() : response.body;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.pool!.parse(attempt === 0 ? task : { ...task, body: spare }, signal);
      } catch (error) {
        if (signal.aborted) return undefined;
        // A crashed worker gets one more try on a fresh thread; a timeout or a second crash fails the page.
        if (error instanceof WorkerCrashError && !(error instanceof ParseTimeoutError) && attempt === 0) {
          this.stats.retries++;
          continue;
        }
        this.recordFailure(request, error, 'parse');
        return undefined;
      }
    }
  }

  private async deliver(request: CrawlRequest, outcome: ParseOutcome): Promise<void> {
    this.stats.pages++;
    for (const line of outcome.logs) this.events.emit('log', { ...line, url: request.url });
    if (outcome.error) {
      const failure: FailureRecord = {
        url: request.url,
        error: { code: outcome.error.code, message: outcome.error.message },
        attempts: request.attempts,
        callback: request.callback,
        stage: 'callback',
        depth: request.depth,
      };
      this.stats.failed++;
      countError(this.stats, outcome.error.code);
      this.events.emit('failure', failure);
      this.events.emit('log', {
        level: 'error',
        message: `callback ${this.spider.name}.${request.callback} failed: ${outcome.error.message}`,
        url: request.url,
        ...(outcome.error.stack ? { data: { stack: outcome.error.stack } } : {}),
      });
    }
    for (const init of outcome.requests) {
      const added = this.frontier.add(init, request);
      if (typeof added === 'string') this.stats.dropped[added]++;
    }
    for (const item of outcome.items) {
      if (this.stats.items >= this.options.maxItems) {
        this.stop('maxItems');
        break;
      }
      if (!(await this.items.push(item))) break;
      this.stats.items++;
      this.events.emit('item', item);
      if (this.stats.items >= this.options.maxItems) this.stop('maxItems');
    }
    this.wakeup.notify();
  }

  private fetchFailed(request: CrawlRequest, error: unknown): void {
    if (this.controller.signal.aborted) return;
    if (isRetryable(error) && request.attempts <= this.options.retries && !this.stopReason) {
      const delayMs = retryDelayMs(request.attempts, error);
      request.notBefore = Date.now() + delayMs;
      this.stats.retries++;
      this.events.emit('retry', { request, error: errorRecord(error), delayMs });
      this.frontier.requeue(request);
      return;
    }
    if (error instanceof HttpStatusError) countStatus(this.stats, error.status);
    this.recordFailure(request, error, 'fetch');
  }

  private recordFailure(request: CrawlRequest, error: unknown, stage: FailureRecord['stage']): void {
    const record = errorRecord(error);
    const failure: FailureRecord = {
      url: request.url,
      ...(error instanceof HttpStatusError ? { status: error.status } : {}),
      error: record,
      attempts: request.attempts,
      callback: request.callback,
      stage,
      depth: request.depth,
    };
    this.stats.failed++;
    countError(this.stats, record.code);
    this.events.emit('failure', failure);
  }

  private acquireParseSlot(): Promise<boolean> {
    if (this.controller.signal.aborted) return Promise.resolve(false);
    if (this.parseSlots < this.parseCapacity) {
      this.parseSlots++;
      this.stats.gauges.maxParseBacklog = Math.max(this.stats.gauges.maxParseBacklog, this.parseSlots);
      return Promise.resolve(true);
    }
    return new Promise((resolve) =>
      this.parseWaiters.push(() => {
        if (this.controller.signal.aborted) return resolve(false);
        this.parseSlots++;
        this.stats.gauges.maxParseBacklog = Math.max(this.stats.gauges.maxParseBacklog, this.parseSlots);
        resolve(true);
      }),
    );
  }

  private releaseParseSlot(): void {
    this.parseSlots--;
    this.parseWaiters.shift()?.();
  }

  private releaseParseWaiters(): void {
    while (this.parseWaiters.length) this.parseWaiters.shift()!();
  }

  private updateGauges(): void {
    const g = this.stats.gauges;
    g.queued = this.frontier?.pending ?? 0;
    g.inFlight = this.fetching;
    g.parseBacklog = this.parseSlots;
    g.itemBacklog = this.items.size;
    g.maxItemBacklog = Math.max(g.maxItemBacklog, g.itemBacklog);
    this.stats.elapsedMs = Math.round(performance.now() - this.startedMs);
    this.stats.pagesPerSecond =
      this.stats.elapsedMs > 0 ? (this.stats.pages * 1000) / this.stats.elapsedMs : 0;
  }
}
