/**
 * The one place that knows every stage: it wires spider -> frontier -> fetcher -> parser pool ->
 * item stream with bounded hand-offs, so a slow sink pauses parsing and slow parsing pauses fetching.
 */
import { setMaxListeners } from 'node:events';
import {
  AbortedError,
  errorRecord,
  HttpStatusError,
  InvalidUrlError,
  NetworkError,
  OutputOpenError,
  ParseTimeoutError,
  RedirectError,
  SpiderInvalidError,
  TimeoutError,
  TrawlError,
  WorkerCrashError,
} from '../errors.js';
import { CookieSession } from '../fetcher/cookies.js';
import { Fetcher } from '../fetcher/fetcher.js';
import { deliveryMarginMs, HostLimits } from '../fetcher/host-limits.js';
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
import { JobDir } from './job-dir.js';
import { SharedFrontier } from './shared-frontier.js';
import { type CrawlStats, countError, countStatus, newStats, type StopReason, updateRates } from './stats.js';

/** A spider module path, or an inline spider object (parsed on the main thread). */
export type SpiderSource = string | Spider;

/** Pages fetched but not yet parsed, per parser thread. */
const PARSE_QUEUE_PER_WORKER = 2;
const SINK_BATCH = 100;
/** In a distributed crawl: how often an idle process asks Redis for work or whether the crawl is over. */
const SHARED_POLL_MS = 200;
/** A request refused by the shared host gate because the host is at its concurrency is retried after this. */
const SHARED_BUSY_RETRY_MS = 20;

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
    const signal = engine.signal;
    let failure: unknown;
    try {
      // Every sink opens before the first request goes out: an output that cannot be created
      // fails the crawl before it starts. A stop or abort meanwhile ends a sink that hangs.
      for (const sink of sinks)
        await untilAborted(sink.open?.(signal), engine.stopSignal).catch((error) => {
          if (error instanceof AbortedError || error instanceof OutputOpenError) throw error;
          const message = error instanceof Error ? error.message : String(error);
          throw new OutputOpenError(`output cannot be opened: ${message}`, { cause: error });
        });
      engine.consumerReady();
      const batch: Item[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        const items = batch.splice(0, batch.length);
        for (const sink of sinks) await untilAborted(sink.write(items, signal), signal);
        engine.ack(items.length);
      };
      for (;;) {
        const { value, done } = await engine.items.next();
        if (done) break;
        batch.push(value);
        if (batch.length >= SINK_BATCH || engine.items.size === 0) await flush();
      }
      await flush();
    } catch (error) {
      failure = error;
      engine.abort();
    } finally {
      engine.consumerDone();
      for (const sink of sinks)
        await untilAborted(sink.close(), signal).catch((error) => (failure ??= error));
    }
    const stats = await engine.finished;
    if (failure) throw failure;
    return stats;
  }

  private begin(): void {
    if (this.started) throw new TrawlError('TRAWL_ERR_USAGE', 'a crawl can be iterated only once');
    this.started = true;
    this.engine.start();
  }
}

/**
 * Resolves or rejects as `promise` does, or rejects with an AbortedError once `signal` aborts: a
 * sink that ignores the signal must not hold up the end of the crawl.
 */
function untilAborted<T>(promise: Promise<T> | T, signal: AbortSignal): Promise<T> {
  if (!(promise instanceof Promise)) return Promise.resolve(promise);
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason ?? new AbortedError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new AbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
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
  /**
   * Cancels fetches and parses only (the stop grace ran out): items already parsed still reach
   * the consumer. Aborting `controller` aborts this too.
   */
  private readonly work = new AbortController();
  /** Fires on stop() as well as on abort: what waits for the crawl to begin gives up. */
  private readonly stopping = new AbortController();
  private graceTimer: NodeJS.Timeout | undefined;
  private resolveGo!: () => void;
  /** Settles once the consumer is ready (sinks open) or the crawl is stopped first. */
  private readonly go = new Promise<void>((resolve) => {
    this.resolveGo = resolve;
  });
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
  private jobDir: JobDir | undefined;
  /** The Redis frontier of a distributed crawl; the local frontier then holds what was taken from it. */
  private shared: SharedFrontier | undefined;
  private nextClaimAt = 0;
  /** Requests taken from the frontier and not yet done: fetching, parsing, or items not yet durable. */
  private readonly active = new Set<CrawlRequest>();
  /** Items pushed to the item stream so far, and how many of them the consumer has handled. */
  private pushed = 0;
  private acked = 0;
  /** Pages waiting for their items to be handled; `mark` is `pushed` after their last item. */
  private awaiting: Array<{ request: CrawlRequest; mark: number }> = [];
  private awaitingHead = 0;
  private droppedForDepth = false;
  private readonly consumerFinished: Promise<void>;
  private resolveConsumer!: () => void;

  constructor(
    private readonly source: SpiderSource,
    private readonly userOptions: CrawlOptions,
    private readonly stats: CrawlStats,
    private readonly events: CrawlEvents,
  ) {
    // Every in-flight fetch and parse listens to this one signal; far more than EventTarget's default of 10.
    setMaxListeners(0, this.controller.signal);
    setMaxListeners(0, this.work.signal);
    this.controller.signal.addEventListener('abort', () => this.work.abort(this.controller.signal.reason), {
      once: true,
    });
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
    this.consumerFinished = new Promise((resolve) => {
      this.resolveConsumer = resolve;
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopSignal(): AbortSignal {
    return this.stopping.signal;
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
    this.acked += count;
    this.settleAwaiting();
  }

  start(): void {
    void this.run();
  }

  stop(reason: StopReason): void {
    this.stopReason ??= reason;
    this.stopping.abort(new AbortedError());
    this.resolveGo();
    this.wakeup.notify();
  }

  abort(): void {
    this.stop('aborted');
    this.controller.abort(new AbortedError());
    this.items.close();
    this.releaseParseWaiters();
    this.resolveConsumer();
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
      await this.go;
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
      if (this.tasks.size > 0) this.armStopGrace();
      await Promise.allSettled([...this.tasks]);
      clearTimeout(this.graceTimer);
      await Promise.allSettled([this.pool?.close(), this.fetcher?.close()]);
      if (fatal) {
        this.items.fail(fatal);
        this.resolveConsumer();
      } else {
        this.items.close();
      }
      // Pages are done only once the consumer has handled their items, so the job log closes last.
      await this.consumerFinished;
      if (this.jobDir) {
        try {
          await this.jobDir.close();
        } catch (error) {
          fatal ??= error;
        }
      }
      if (this.shared) {
        // Requests taken but not done go back to the shared queue for the other processes.
        try {
          await this.shared.close();
        } catch (error) {
          fatal ??= error;
        }
      }
      // Taken from the frontier and not done: cancelled in flight, or items never handled.
      this.stats.unfinished = this.active.size;
      this.stats.finishedAt = new Date().toISOString();
      this.updateGauges();
      this.stats.stopReason ??=
        this.stopReason ?? (this.droppedForDepth && !fatal ? 'maxDepth' : fatal ? 'error' : 'finished');
      if (fatal) {
        this.rejectFinished(fatal);
      } else {
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
    let cookieJar: CookieSession | undefined;
    if (this.options.jobDir) {
      this.jobDir = new JobDir(this.options.jobDir);
      const restored = await this.jobDir.open();
      for (const fp of restored.seenFingerprints) this.frontier.markSeen(fp);
      for (const key of restored.seenKeys) this.frontier.markSeenKey(key);
      for (const request of restored.pending) this.frontier.requeue(request);
      this.stats.restored = restored.pending.length;
      // The jar lives in the job directory, so a resumed crawl keeps its session.
      if (this.options.cookies) cookieJar = this.jobDir.keepCookies((saved) => new CookieSession(saved));
    }
    const distributed = this.options.distributed;
    if (distributed)
      this.shared = await SharedFrontier.connect({
        url: distributed.redis,
        crawlId: distributed.crawlId,
        leaseMs: distributed.leaseMs,
      });
    // On resume the seeds are deduped against the restored seen set, as Scrapy's JOBDIR does; in a
    // distributed crawl, against every process's (a second process adds nothing new).
    const fresh: CrawlRequest[] = [];
    for (const seed of seeds) {
      const added = this.shared ? this.frontier.admit(seed) : this.frontier.add(seed);
      if (added === 'invalid') throw new InvalidUrlError(seed.url);
      if (typeof added !== 'string') {
        this.jobDir?.queued(added);
        fresh.push(added);
      }
    }
    await this.shared?.add(fresh);
    this.stats.bounds = {
      inFlight: this.options.concurrency,
      parseBacklog: 0,
      itemBacklog: this.items.capacity,
    };
    this.hostLimits = new HostLimits(this.options.perHost, {
      rules: this.options.hosts,
      adaptive: this.options.adaptiveThrottle,
      maxPauseMs: this.options.backoff.maxRetryAfterMs,
    });
    this.fetcher = await Fetcher.create({
      userAgent: this.options.userAgent,
      headers: this.options.headers,
      timeouts: this.options.timeouts,
      maxBodyBytes: this.options.maxBodyBytes,
      maxRedirects: this.options.maxRedirects,
      connectionsPerOrigin: Math.max(
        this.options.perHost.concurrency,
        ...this.options.hosts.map((h) => h.concurrency ?? 0),
      ),
      // Redirect hops obey the same host filter as followed links.
      checkRedirect: (url) => {
        if (allowed && !allowed.has(new URL(url).hostname))
          throw new RedirectError(`redirect to offsite ${url}`);
      },
      hostLimits: this.hostLimits,
      obeyRobotsTxt: this.options.obeyRobotsTxt,
      ...(this.options.allowPrivateNetwork !== undefined
        ? { allowPrivateNetwork: this.options.allowPrivateNetwork }
        : {}),
      ...(this.options.dnsLookup ? { lookup: this.options.dnsLookup } : {}),
      ...(this.options.proxy ? { proxy: this.options.proxy } : {}),
      cookies: this.options.cookies,
      ...(cookieJar ? { cookieJar } : {}),
      acceptStatus: this.options.acceptStatus,
      ...(this.options.httpCache ? { httpCache: this.options.httpCache } : {}),
      maxRetryAfterMs: this.options.backoff.maxRetryAfterMs,
      startUrls: seeds.map((s) => s.url),
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
    this.stats.bounds.parseBacklog = this.parseCapacity;
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
      if (this.shared && !this.stopReason) await this.refill();
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
        this.events.emit('scheduled', request);
        this.launch(request);
      }
      this.updateGauges();
      if (this.stopReason) this.armStopGrace();
      if (this.tasks.size === 0 && (this.stopReason || this.frontier.pending === 0)) {
        // Alone, an empty frontier ends the crawl; shared, only when no process has work left.
        if (!this.shared || this.stopReason || (await this.shared.idle())) return;
      }
      if (this.shared && this.frontier.pending < this.options.concurrency)
        waitMs = Math.min(waitMs, SHARED_POLL_MS);
      await this.wakeup.wait(this.stopReason ? Number.POSITIVE_INFINITY : waitMs);
    }
  }

  /** After a stop, in-flight work gets `stopGraceMs` to finish; then it is cancelled. */
  private armStopGrace(): void {
    if (this.graceTimer || this.work.signal.aborted) return;
    this.graceTimer = setTimeout(() => {
      this.work.abort(new AbortedError());
      this.releaseParseWaiters();
    }, this.options?.stopGraceMs ?? 0);
  }

  /** Takes work from the shared frontier when the local one runs low. */
  private async refill(): Promise<void> {
    // Only what can start soon: requests held here are requests the other processes cannot take.
    const room = this.options.concurrency - this.fetching - this.frontier.pending;
    if (room <= 0 || performance.now() < this.nextClaimAt) return;
    const claimed = await this.shared!.claim(room);
    for (const request of claimed) {
      this.frontier.markSeen(request.fingerprint);
      this.frontier.requeue(request);
    }
    // An empty queue is asked again after a pause, not on every wakeup.
    this.nextClaimAt = claimed.length === 0 ? performance.now() + SHARED_POLL_MS / 2 : 0;
  }

  private launch(request: CrawlRequest): void {
    this.active.add(request);
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
    const signal = this.work.signal;
    this.fetching++;
    this.stats.gauges.maxInFlight = Math.max(this.stats.gauges.maxInFlight, this.fetching);
    this.hostLimits.acquire(origin);
    let releaseSharedSlot: (() => Promise<void>) | undefined;
    if (this.shared) {
      const turn = await this.sharedTurn(request, origin);
      if (!turn) return;
      releaseSharedSlot = turn;
    }
    request.attempts++;
    this.stats.requests++;
    this.events.emit('request', request);
    let response: FetchedResponse;
    try {
      response = await this.fetcher!.fetch(request, signal);
    } catch (error) {
      this.hostLimits.release(origin);
      void releaseSharedSlot?.();
      this.fetching--;
      this.fetchFailed(request, error);
      return;
    }
    this.hostLimits.release(origin);
    void releaseSharedSlot?.();
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
    // The slot is held until the page's items are in the item stream, so pages waiting on a slow
    // consumer count against the same bound as pages waiting to be parsed.
    try {
      const outcome = await this.parse(request, response, signal);
      if (outcome) await this.deliver(request, outcome);
    } finally {
      this.releaseParseSlot();
    }
  }

  /**
   * The per-host limits across every process of a distributed crawl. When the host has no turn
   * free, the request goes back to the local frontier for the time Redis says (holding no slot)
   * and undefined is returned; else the release of the shared slot.
   */
  private async sharedTurn(
    request: CrawlRequest,
    origin: string,
  ): Promise<(() => Promise<void>) | undefined> {
    if (this.options.obeyRobotsTxt && !this.fetcher!.knowsRobots(origin)) {
      // robots.txt first, in its own turn, so the shared turn is taken right before the request.
      this.giveBack(request, origin);
      await this.fetcher!.robotsFor(origin).catch(() => undefined);
      this.frontier.requeue(request);
      return undefined;
    }
    const limit = this.hostLimits.limitFor(origin);
    const gapMs = limit.delayMs + limit.jitterMs * Math.random() + deliveryMarginMs(limit.delayMs);
    let turn: Awaited<ReturnType<SharedFrontier['gate']>>;
    try {
      turn = await this.shared!.gate(origin, limit.concurrency, gapMs);
    } catch (error) {
      turn = { waitMs: SHARED_POLL_MS };
      this.sharedFailed(error);
    }
    if (turn.release) return turn.release;
    this.giveBack(request, origin);
    request.notBefore = Date.now() + (turn.waitMs > 0 ? turn.waitMs : SHARED_BUSY_RETRY_MS);
    this.frontier.requeue(request);
    return undefined;
  }

  /** Undoes the admission of a request that will not go out now; the caller requeues it. */
  private giveBack(request: CrawlRequest, origin: string): void {
    this.hostLimits.unsent(origin);
    this.hostLimits.release(origin);
    this.fetching--;
    if (request.attempts === 0) this.firstAttempts--;
    this.active.delete(request);
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
    try {
      return await this.pool!.parse(task, signal);
    } catch (error) {
      if (signal.aborted) return undefined;
      // A crashed worker gets one more try. Its body was transferred to the dead thread, so rather
      // than copying every page's body just in case, the page is fetched again (in its host's turn).
      // A timeout or a second crash fails the page.
      const crashed = error instanceof WorkerCrashError && !(error instanceof ParseTimeoutError);
      if (crashed && (request.parseAttempts ?? 0) === 0 && !this.stopReason) {
        request.parseAttempts = 1;
        this.stats.retries++;
        this.events.emit('retry', { request, error: errorRecord(error), delayMs: 0 });
        this.active.delete(request);
        this.frontier.requeue(request);
        return undefined;
      }
      this.recordFailure(request, error, 'parse');
      return undefined;
    }
  }

  private async deliver(request: CrawlRequest, outcome: ParseOutcome): Promise<void> {
    this.stats.pages++;
    for (const line of outcome.logs) this.events.emit('log', Object.assign(line, { url: request.url }));
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
    if (outcome.dropped) {
      const d = this.stats.dropped;
      d.fragment += outcome.dropped.fragment;
      d.scheme += outcome.dropped.scheme;
      d.empty += outcome.dropped.empty;
      d.invalid += outcome.dropped.invalid;
    }
    const found: CrawlRequest[] = [];
    for (const init of outcome.requests) {
      const added = this.shared ? this.frontier.admit(init, request) : this.frontier.add(init, request);
      if (typeof added === 'string') {
        this.stats.dropped[added]++;
        if (added === 'depth') this.droppedForDepth = true;
      } else {
        this.jobDir?.queued(added);
        found.push(added);
      }
    }
    if (this.shared && found.length > 0) {
      // Queued in Redis before this page can be reported done, so a crash loses none of them.
      try {
        const added = await this.shared.add(found);
        this.stats.dropped.duplicate += found.length - added;
        // There is work in the queue now: the next refill need not wait out an empty claim.
        if (added > 0) this.nextClaimAt = 0;
      } catch (error) {
        this.sharedFailed(error);
        return;
      }
    }
    for (const item of outcome.items) {
      if (this.stats.items >= this.options.maxItems) {
        this.stop('maxItems');
        break;
      }
      // Stream closed by an abort: the page stays not-done, so a job directory fetches it again.
      if (!(await this.items.push(item))) return;
      this.pushed++;
      this.stats.items++;
      const g = this.stats.gauges;
      g.maxItemBacklog = Math.max(g.maxItemBacklog, this.items.size);
      this.events.emit('item', item);
      if (this.stats.items >= this.options.maxItems) this.stop('maxItems');
    }
    this.complete(request);
    this.wakeup.notify();
  }

  /** The request needs nothing more from the crawl; it is done once the items before it are handled. */
  private complete(request: CrawlRequest): void {
    this.awaiting.push({ request, mark: this.pushed });
    this.settleAwaiting();
  }

  private settleAwaiting(): void {
    const done: string[] = [];
    const doneRequests: CrawlRequest[] = [];
    while (this.awaitingHead < this.awaiting.length) {
      const next = this.awaiting[this.awaitingHead]!;
      if (next.mark > this.acked) break;
      this.awaitingHead++;
      this.active.delete(next.request);
      done.push(next.request.fingerprint);
      doneRequests.push(next.request);
    }
    if (this.awaitingHead > 1024 && this.awaitingHead * 2 > this.awaiting.length) {
      this.awaiting = this.awaiting.slice(this.awaitingHead);
      this.awaitingHead = 0;
    }
    if (this.shared && doneRequests.length > 0)
      this.shared.done(doneRequests).catch((error) => this.sharedFailed(error));
    if (done.length === 0 || !this.jobDir) return;
    const jobDir = this.jobDir;
    jobDir
      .done(done)
      .then(() =>
        jobDir.maybeCompact({
          pending: () => this.pendingRequests(),
          seenKeys: () => this.frontier.seenKeys(),
        }),
      )
      .catch((error) => this.jobDirFailed(error));
  }

  /** Everything not yet done, for compacting the job log. */
  private *pendingRequests(): Iterable<CrawlRequest> {
    yield* this.frontier.drain();
    yield* this.active;
  }

  /**
   * The job directory or the shared frontier failed. Going on would break the resume promise (or
   * the agreement with the other processes on what is done), so the crawl ends with the error.
   */
  private stateFailed(error: unknown, where: string): void {
    if (this.controller.signal.aborted) return;
    this.stats.stopReason = 'error';
    this.events.emit('failure', {
      url: where,
      error: errorRecord(error),
      attempts: 0,
      callback: '',
      stage: 'item',
      depth: 0,
    });
    this.abort();
  }

  private jobDirFailed(error: unknown): void {
    this.stateFailed(error, this.options.jobDir ?? '');
  }

  private sharedFailed(error: unknown): void {
    this.stateFailed(error, this.options.distributed?.redis ?? '');
  }

  private fetchFailed(request: CrawlRequest, error: unknown): void {
    // Cancelled: the request stays taken and not done, so it is counted as unfinished.
    if (this.work.signal.aborted) return;
    if (error instanceof HttpStatusError) countStatus(this.stats, error.status);
    if (isRetryable(error) && request.attempts <= this.options.retries && this.stopReason) {
      // Stopping: the retry is not attempted now, but it stays queued (and pending in a job dir).
      this.active.delete(request);
      this.frontier.requeue(request);
      return;
    }
    if (isRetryable(error) && request.attempts <= this.options.retries) {
      const delayMs = retryDelayMs(request.attempts, error, this.options.backoff);
      // A server that said when to come back gets its retry on time; a URL that did not answer
      // waits behind its host's fresh requests.
      if (error instanceof TimeoutError || error instanceof NetworkError) request.slow = true;
      request.notBefore = Date.now() + delayMs;
      this.stats.retries++;
      this.events.emit('retry', { request, error: errorRecord(error), delayMs });
      this.active.delete(request);
      this.frontier.requeue(request);
      return;
    }
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
    this.complete(request);
  }

  private acquireParseSlot(): Promise<boolean> {
    if (this.work.signal.aborted) return Promise.resolve(false);
    if (this.parseSlots < this.parseCapacity) {
      this.parseSlots++;
      this.stats.gauges.maxParseBacklog = Math.max(this.stats.gauges.maxParseBacklog, this.parseSlots);
      return Promise.resolve(true);
    }
    return new Promise((resolve) =>
      this.parseWaiters.push(() => {
        if (this.work.signal.aborted) return resolve(false);
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
    updateRates(this.stats, performance.now() - this.startedMs);
  }
}
