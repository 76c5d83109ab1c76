import { errorRecord, HttpStatusError } from '../errors.js';
import type { ParseOutcome, ParseTask } from '../parser/protocol.js';
import { pageRequestOf } from '../spider.js';
import type { StoredItem } from '../storage/sink.js';
import type { CrawlRequest, FailureRecord, FetchedResponse, Item, RequestInit } from '../types.js';
import type { Acks } from './acks.js';
import type { Rejection } from './admission.js';
import type { Channel } from './channel.js';
import { ItemKeys } from './item-keys.js';
import type { CrawlEvents } from './events.js';
import type { Turn } from './host-turns.js';
import { afterFetchError, afterParseError } from './retry-decision.js';
import { Semaphore } from './semaphore.js';
import type { Shutdown } from './shutdown.js';
import { compareVisit } from './revisit.js';
import { type CrawlStats, countError, countStatus, type StopReason, updateRates } from './stats.js';
import type { Wakeup } from './wakeup.js';
import type { Stages } from './wiring.js';

/** Pages fetched but not yet parsed, per parser thread. */
const PARSE_QUEUE_PER_WORKER = 2;
const REJECTIONS: readonly Rejection[] = ['duplicate', 'depth', 'offsite', 'invalid', 'trap'];

/** What the scheduler shares with the crawl around it. */
export interface SchedulerContext {
  stats: CrawlStats;
  events: CrawlEvents;
  items: Channel<StoredItem>;
  acks: Acks;
  shutdown: Shutdown;
  wakeup: Wakeup;
  /** The crawl reached a limit. */
  stop(reason: StopReason): void;
  /** The store failed: the crawl ends with the error. */
  storeFailed(error: unknown, where: string): void;
}

/**
 * The scheduling loop and each request's way through the stages: take a request from a host that
 * has capacity, fetch it, wait for room in the parse queue, parse it, queue what it found and
 * push its items. A request never holds a global slot while its host makes it wait, and a fetched
 * page holds its fetch slot until the parse queue has room, so slow parsing pauses fetching.
 */
export class Scheduler {
  /** Links were dropped for their depth: a crawl that ran out of work reports `maxDepth`. */
  droppedForDepth = false;
  private fetching = 0;
  private firstAttempts = 0;
  private readonly tasks = new Set<Promise<void>>();
  private readonly parseSlots: Semaphore;

  private readonly keys: ItemKeys;

  constructor(
    private readonly stages: Stages,
    private readonly context: SchedulerContext,
    private readonly startedMs: number,
  ) {
    this.parseSlots = new Semaphore(stages.pool.size * PARSE_QUEUE_PER_WORKER, context.shutdown.workSignal);
    this.keys = new ItemKeys(stages.spider, context.events);
  }

  get parseCapacity(): number {
    return this.parseSlots.capacity;
  }

  /** Starts requests from hosts with capacity until the frontier and every stage are empty, or a stop. */
  async run(): Promise<void> {
    const { store, options } = this.stages;
    const { shutdown, wakeup } = this.context;
    for (;;) {
      if (!shutdown.reason) {
        await store.claim(options.concurrency - this.fetching);
        this.stopAtSharedLimit();
      }
      let waitMs = this.launchReady();
      this.updateGauges();
      if (shutdown.reason) shutdown.armGrace(options.stopGraceMs);
      if (this.tasks.size === 0 && (shutdown.reason || store.pending === 0)) {
        // Alone, an empty frontier ends the crawl; shared, only when no process has work left.
        if (shutdown.reason || (await store.exhausted())) return;
      }
      if (store.pending < options.concurrency) waitMs = Math.min(waitMs, store.claimEveryMs);
      await wakeup.wait(shutdown.reason ? Number.POSITIVE_INFINITY : waitMs);
    }
  }

  /**
   * A crawl-wide limit another process (or this one) reached: the page budget once the requests
   * already taken here are on the wire (one still waiting for its host's turn would be put back
   * after a stop, its share of the budget spent and never fetched), the item limit at once.
   */
  private stopAtSharedLimit(): void {
    const { store } = this.stages;
    const reached = store.limits?.reached;
    const allStarted = store.pending === 0 && this.fetching === 0;
    if (reached && (reached !== 'maxPages' || allStarted)) this.context.stop(reached);
  }

  /** Waits for the work in flight; after a stop it gets `stopGraceMs` to finish, then it is cancelled. */
  async drain(): Promise<void> {
    if (this.tasks.size > 0) this.context.shutdown.armGrace(this.stages.options.stopGraceMs);
    await Promise.allSettled([...this.tasks]);
    this.context.shutdown.disarm();
  }

  updateGauges(): void {
    const { stats, items } = this.context;
    const g = stats.gauges;
    g.queued = this.stages.store.pending;
    g.inFlight = this.fetching;
    g.parseBacklog = this.parseSlots.held;
    g.itemBacklog = items.size;
    g.maxItemBacklog = Math.max(g.maxItemBacklog, g.itemBacklog);
    updateRates(stats, performance.now() - this.startedMs);
  }

  /** Launches requests while a global slot is free and some host may start; else how long until one may. */
  private launchReady(): number {
    const { store, hostLimits, options } = this.stages;
    const { shutdown } = this.context;
    while (!shutdown.reason && this.fetching < options.concurrency) {
      const pick = store.take(hostLimits);
      if (!pick) break;
      if ('waitMs' in pick) return pick.waitMs;
      const request = pick.request;
      if (request.attempts === 0) {
        if (this.firstAttempts >= options.maxPages) {
          store.requeue(request);
          this.context.stop('maxPages');
          break;
        }
        this.firstAttempts++;
      }
      this.context.events.emit('scheduled', request);
      this.launch(request);
    }
    return Number.POSITIVE_INFINITY;
  }

  private launch(request: CrawlRequest): void {
    this.context.acks.opened(request);
    const task = this.process(request).catch((error) => {
      // process() records its own failures; anything here is a bug in a stage, kept visible.
      this.recordFailure(request, error, 'fetch');
    });
    this.tasks.add(task);
    void task.finally(() => {
      this.tasks.delete(task);
      this.context.wakeup.notify();
    });
  }

  private async process(request: CrawlRequest): Promise<void> {
    const origin = new URL(request.url).origin;
    const signal = this.context.shutdown.workSignal;
    const gauges = this.context.stats.gauges;
    this.fetching++;
    gauges.maxInFlight = Math.max(gauges.maxInFlight, this.fetching);
    this.stages.hostLimits.acquire(origin);
    const asked = this.stages.turns.take(origin);
    // A turn decided here is taken in the same tick, so the request goes out as it was admitted.
    const turn = asked instanceof Promise ? await asked : asked;
    if (!turn.taken) return this.putBack(request, origin, turn);
    const response = await this.fetch(request, origin, turn.release, signal);
    if (!response) return;
    if (this.unchangedSinceLastVisit(request, response)) {
      this.fetching--;
      this.context.acks.complete(request);
      this.context.wakeup.notify();
      return;
    }
    // Hold the fetch slot until the parse queue has room: slow parsing pauses fetching.
    const gotSlot = await this.parseSlots.acquire();
    gauges.maxParseBacklog = Math.max(gauges.maxParseBacklog, this.parseSlots.peak);
    this.fetching--;
    this.context.wakeup.notify();
    if (!gotSlot) return;
    // The slot is held until the page's items are in the item stream, so pages waiting on a slow
    // consumer count against the same bound as pages waiting to be parsed.
    try {
      const outcome = await this.parse(request, response, signal);
      if (outcome) await this.deliver(request, outcome);
    } finally {
      this.parseSlots.release();
    }
  }

  /**
   * Records the page's validators where the store keeps them for re-crawls; true when this is a
   * revisit and the page has not changed (it is then done: no parse, no items).
   */
  private unchangedSinceLastVisit(request: CrawlRequest, response: FetchedResponse): boolean {
    const store = this.stages.store;
    if (!store.visited) return false;
    const { validators, unchanged } = compareVisit(request, response);
    if (validators) store.visited(request, validators);
    if (unchanged) this.context.stats.notModified++;
    return unchanged;
  }

  /** Undoes the admission of a request that will not go out now, and queues it again. */
  private async putBack(request: CrawlRequest, origin: string, turn: Turn & { taken: false }): Promise<void> {
    this.stages.hostLimits.unsent(origin);
    this.stages.hostLimits.release(origin);
    this.fetching--;
    if (request.attempts === 0) this.firstAttempts--;
    this.context.acks.withdrawn(request);
    if (turn.prepare) await turn.prepare();
    if (turn.notBefore !== undefined) request.notBefore = turn.notBefore;
    this.stages.store.requeue(request);
  }

  /** One fetch attempt; undefined when it failed (the failure is handled). */
  private async fetch(
    request: CrawlRequest,
    origin: string,
    releaseTurn: () => void,
    signal: AbortSignal,
  ): Promise<FetchedResponse | undefined> {
    const { stats, events } = this.context;
    request.attempts++;
    stats.requests++;
    events.emit('request', request);
    let response: FetchedResponse;
    const startedAt = performance.now();
    try {
      response = await this.stages.fetcher.fetch(request, signal);
    } catch (error) {
      this.stages.hostLimits.release(origin);
      releaseTurn();
      this.fetching--;
      if (error instanceof HttpStatusError) {
        const elapsedMs = performance.now() - startedAt;
        events.emit('response', { url: request.url, status: error.status, bytes: 0, elapsedMs, request });
      }
      this.fetchFailed(request, error);
      return undefined;
    }
    this.stages.hostLimits.release(origin);
    releaseTurn();
    response.attempts = request.attempts;
    stats.bytes += response.wireBytes;
    countStatus(stats, response.status);
    const { url, status, wireBytes: bytes, elapsedMs } = response;
    events.emit('response', { url, status, bytes, elapsedMs, request });
    return response;
  }

  private fetchFailed(request: CrawlRequest, error: unknown): void {
    const decision = afterFetchError(
      error,
      request.attempts,
      this.stages.options,
      this.context.shutdown.phase,
    );
    // Cancelled: the request stays taken and not done, so it is counted as unfinished.
    if (decision.kind === 'abandon') return;
    const { stats, events } = this.context;
    if (error instanceof HttpStatusError) countStatus(stats, error.status);
    if (decision.kind === 'fail') return this.recordFailure(request, error, 'fetch');
    if (decision.kind === 'retry') {
      if (decision.slow) request.slow = true;
      request.notBefore = Date.now() + decision.delayMs;
      stats.retries++;
      events.emit('retry', { request, error: errorRecord(error), delayMs: decision.delayMs });
    }
    // A retry, or (stopping) one that stays queued, and pending in a job directory.
    this.requeue(request);
  }

  private async parse(
    request: CrawlRequest,
    response: FetchedResponse,
    signal: AbortSignal,
  ): Promise<ParseOutcome | undefined> {
    try {
      return await this.stages.pool.parse(parseTask(this.stages, request, response), signal);
    } catch (error) {
      const decision = afterParseError(error, request.parseAttempts ?? 0, this.context.shutdown.phase);
      if (decision.kind === 'refetch') {
        request.parseAttempts = 1;
        this.context.stats.retries++;
        this.context.events.emit('retry', { request, error: errorRecord(error), delayMs: 0 });
        this.requeue(request);
      } else if (decision.kind === 'fail') {
        this.recordFailure(request, error, 'parse');
      }
      return undefined;
    }
  }

  private async deliver(request: CrawlRequest, outcome: ParseOutcome): Promise<void> {
    const { stats, events } = this.context;
    stats.pages++;
    for (const line of outcome.logs) events.emit('log', Object.assign(line, { url: request.url }));
    if (outcome.error) this.callbackFailed(request, outcome.error);
    if (outcome.dropped) {
      const d = stats.dropped;
      d.fragment += outcome.dropped.fragment;
      d.scheme += outcome.dropped.scheme;
      d.empty += outcome.dropped.empty;
      d.invalid += outcome.dropped.invalid;
    }
    // Queued (durably, where the store is) before this page can be reported done.
    if (!(await this.queueFound(request, outcome.requests))) return;
    // Stream closed by an abort: the page stays not-done, so a job directory fetches it again.
    if (!(await this.pushItems(request, outcome.items))) return;
    this.context.acks.complete(request);
    this.context.wakeup.notify();
  }

  private callbackFailed(request: CrawlRequest, error: NonNullable<ParseOutcome['error']>): void {
    const { stats, events } = this.context;
    const failure: FailureRecord = {
      url: request.url,
      error: { code: error.code, message: error.message },
      attempts: request.attempts,
      callback: request.callback,
      stage: 'callback',
      depth: request.depth,
    };
    stats.failed++;
    countError(stats, error.code);
    events.emit('failure', failure);
    events.emit('log', {
      level: 'error',
      message: `callback ${this.stages.spider.name}.${request.callback} failed: ${error.message}`,
      url: request.url,
      ...(error.stack ? { data: { stack: error.stack } } : {}),
    });
  }

  /** Adds the requests a page found to the store; false when the store failed. */
  private async queueFound(parent: CrawlRequest, found: RequestInit[]): Promise<boolean> {
    if (found.length === 0) return true;
    const { store } = this.stages;
    let added;
    try {
      added = await store.add(found, parent);
    } catch (error) {
      this.context.storeFailed(error, store.location);
      return false;
    }
    const dropped = this.context.stats.dropped;
    for (const why of REJECTIONS) dropped[why] += added.dropped[why];
    if (added.dropped.depth > 0) this.droppedForDepth = true;
    return true;
  }

  /** Pushes a page's items to the item stream; false when the stream was closed. */
  private async pushItems(request: CrawlRequest, found: Item[]): Promise<boolean> {
    const { stats, events, acks } = this.context;
    const maxItems = this.stages.options.maxItems;
    const scrapedAt = Date.now();
    // A prefix of the page's items, so each keeps its index on the page (its default key).
    const items = await this.crawlWide(found);
    if (!items) return false;
    for (const [index, item] of items.entries()) {
      if (stats.items >= maxItems) {
        this.context.stop('maxItems');
        break;
      }
      const key = this.keys.keyOf(item, request, index);
      if (
        !(await this.context.items.push({ key, url: request.url, spider: this.keys.spider, scrapedAt, item }))
      )
        return false;
      acks.itemPushed();
      stats.items++;
      const g = stats.gauges;
      g.maxItemBacklog = Math.max(g.maxItemBacklog, this.context.items.size);
      events.emit('item', item);
      if (stats.items >= maxItems) this.context.stop('maxItems');
    }
    return true;
  }

  /**
   * The items of a page the crawl-wide item limit lets through (all of them in a crawl of one
   * process); undefined when the store failed.
   */
  private async crawlWide(items: Item[]): Promise<Item[] | undefined> {
    const { limits, location } = this.stages.store;
    if (!limits || items.length === 0) return items;
    let granted: number;
    try {
      granted = await limits.grantItems(items.length);
    } catch (error) {
      this.context.storeFailed(error, location);
      return undefined;
    }
    if (granted < items.length) this.context.stop('maxItems');
    return granted < items.length ? items.slice(0, granted) : items;
  }

  /** A taken request goes back to the frontier unfinished. */
  private requeue(request: CrawlRequest): void {
    this.context.acks.withdrawn(request);
    this.stages.store.requeue(request);
  }

  private recordFailure(request: CrawlRequest, error: unknown, stage: FailureRecord['stage']): void {
    const { stats, events } = this.context;
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
    stats.failed++;
    countError(stats, record.code);
    events.emit('failure', failure);
    this.context.acks.complete(request);
  }
}

function parseTask(stages: Stages, request: CrawlRequest, response: FetchedResponse): ParseTask {
  return {
    spiderPath: stages.spiderPath,
    maxBodyBytes: stages.options.maxBodyBytes,
    callback: request.callback,
    request: pageRequestOf(request),
    url: response.url,
    status: response.status,
    headers: response.headers,
    encoding: response.encoding,
    body: response.body,
    ...(response.screenshot ? { screenshot: response.screenshot } : {}),
  };
}
