/**
 * The frontier of a distributed crawl, in Redis, shared by every process that runs the crawl with
 * the same crawl id. Each process keeps its own local frontier for scheduling and takes work from
 * here in batches; Redis holds what must be agreed on (all keys under `trawl:<crawlId>:`):
 *
 *   seen:<xyz>    HASHes of request fingerprints, bucketed by their first 3 characters: a URL is
 *                 queued once across all processes (see ADD in redis-scripts.ts)
 *   queue         ZSET of request ids (`<host number>:<arrival>`), in the order of ordering.ts
 *   requests      HASH id -> request JSON, for queued and leased requests
 *   leases        ZSET of leased request ids by lease expiry (Redis clock, ms)
 *   ranks         HASH leased id -> its queue score, to put it back in its place
 *   seq           counter for arrival order
 *   hosts, hostq  HASH origin -> host number; HASH host number -> requests queued
 *   counters      HASH: claimed, done, items (crawl-wide limits and status), startedAt
 *   procs, beats  HASH process id -> its last report (JSON); -> its last heartbeat
 *   seeding, origins   the start requests' lock ('done' once added) and their origins
 *   host:<origin>, slots:<origin>, throttle:<origin>   the per-host gate (see `gate`)
 *   robots:<origin>    the origin's robots.txt, fetched once for the crawl (shared-robots.ts)
 *
 * A request taken by a process is leased, and the lease is renewed while the process works on it;
 * it leaves Redis only when that process reports it done (its items were handled). If the process
 * dies, the lease runs out and the request goes back to the queue for another process: delivery is
 * at least once, as with a job directory. The crawl is over when the queue is empty and no process
 * holds a lease.
 */
import type { CookieSession } from '../fetcher/cookies.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { SharedFrontierError } from '../errors.js';
import { type ResolvedHostLimit, startGapMs } from '../fetcher/host-limits.js';
import { DISTRIBUTED_DEFAULTS } from '../options.js';
import type { CrawlRequest } from '../types.js';
import { rankScore } from './ordering.js';
import { type ConnectionEvent, RedisLink } from './redis-link.js';
import * as lua from './redis-scripts.js';
import { decodeRequest, encodeRequest } from './request-codec.js';
import type { StopReason } from './stats.js';

export interface SharedFrontierOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Name of the crawl; processes with the same name share one frontier. */
  crawlId: string;
  /** How long a taken request stays leased without renewal. @default DISTRIBUTED_DEFAULTS.leaseMs (15 s) */
  leaseMs?: number;
  /** How long to wait for a lost Redis to come back. @default DISTRIBUTED_DEFAULTS.outageMs (5 min) */
  outageMs?: number;
  /** Crawl-wide limits: pages taken and items delivered across every process. @default none */
  maxPages?: number;
  maxItems?: number;
  /** Source of randomness in [0, 1) for host jitter. @default Math.random */
  random?: () => number;
  /**
   * A lease renewal (or a slot release) failed: requests held here may be taken over by other
   * processes. The crawl goes on; the next renewal tries again.
   */
  onLeaseFailure?: (error: SharedFrontierError) => void;
  /** The connection to Redis was lost, or is back. */
  onConnection?: (event: ConnectionEvent) => void;
}

/** What a process tells the others (and `trawl status`) about itself with each heartbeat. */
export interface ProcessReport {
  pages: number;
  items: number;
  failed: number;
  inFlight: number;
}

/** How long a lock (the start requests, a robots.txt fetch) is held without renewal. */
const LOCK_MS = 30_000;
const LOCK_POLL_MS = 100;
/** A throttle published after a 429 fades this long after its last change. */
const THROTTLE_TTL_MS = 60_000;

export class SharedFrontier {
  /** The crawl-wide limit the last claim found reached, if any. */
  reached: StopReason | undefined;
  /** This process, as the others see it in `procs`. */
  readonly processId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly prefix: string;
  private readonly leaseMs: number;
  private readonly random: () => number;
  /**
   * Requests this process has leased and not yet reported done, by fingerprint (the local
   * frontier hands back equal requests, not the same objects; unfiltered repeats share one).
   */
  private readonly held = new Map<string, string[]>();
  /** Takes in the shared cookie jar when a claim reports a newer version (see shareCookies). */
  private cookiesAt: ((version: number) => Promise<void>) | undefined;
  private heldCount = 0;
  /** Host slots this process holds: slot id -> its key. */
  private readonly slots = new Map<string, string>();
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<unknown> | undefined;
  private report: () => ProcessReport = () => ({ pages: 0, items: 0, failed: 0, inFlight: 0 });
  private readonly startedAt = new Date().toISOString();
  private seedingLock = false;
  private readonly onLeaseFailure: ((error: SharedFrontierError) => void) | undefined;

  private constructor(
    readonly link: RedisLink,
    private readonly options: SharedFrontierOptions,
  ) {
    this.prefix = `trawl:${options.crawlId}:`;
    this.leaseMs = options.leaseMs ?? DISTRIBUTED_DEFAULTS.leaseMs;
    this.random = options.random ?? Math.random;
    this.onLeaseFailure = options.onLeaseFailure;
  }

  static async connect(options: SharedFrontierOptions): Promise<SharedFrontier> {
    const link = await RedisLink.open({
      url: options.url,
      outageMs: options.outageMs ?? DISTRIBUTED_DEFAULTS.outageMs,
      ...(options.onConnection ? { onConnection: options.onConnection } : {}),
    });
    const frontier = new SharedFrontier(link, options);
    frontier.renewTimer = setInterval(() => frontier.renew(), Math.max(50, frontier.leaseMs / 3));
    frontier.renewTimer.unref();
    return frontier;
  }

  /** Reports this process's progress with each heartbeat. */
  reportWith(report: () => ProcessReport): void {
    this.report = report;
  }

  /** Writes a heartbeat now; resolves with how long the crawl has run (since its first process began). */
  async beat(state: 'running' | StopReason = 'running'): Promise<number> {
    const report = { ...this.report(), state, held: this.heldCount, startedAt: this.startedAt };
    const [now, startedAt] = (await this.eval(
      lua.BEAT,
      ['procs', 'beats', 'counters'],
      [this.processId, JSON.stringify(report)],
    )) as [number, number];
    return now - startedAt;
  }

  /** Queues requests no process has queued before (unfiltered ones always); returns how many were new. */
  async add(requests: readonly CrawlRequest[]): Promise<number> {
    if (requests.length === 0) return 0;
    const args: string[] = [];
    for (const request of requests)
      args.push(
        request.dontFilter ? '' : request.fingerprint,
        encodeRequest(request),
        String(rankScore(request.slow === true, request.priority)),
        new URL(request.url).origin,
      );
    const keys = ['seen:', 'queue', 'requests', 'seq', 'hostq', 'hosts'];
    const added = (await this.eval(lua.ADD, keys, args)) as string[];
    return added.length;
  }

  /** Leases up to `count` requests, first in the queue's order first, within the crawl-wide limits. */
  async claim(count: number): Promise<CrawlRequest[]> {
    const reply = (await this.eval(
      lua.CLAIM,
      ['queue', 'ranks', 'requests', 'leases', 'hostq', 'counters'],
      [String(count), String(this.leaseMs), limitArg(this.options.maxPages), limitArg(this.options.maxItems)],
    )) as string[];
    this.reached = (reply[0] || undefined) as StopReason | undefined;
    if (reply[1] !== undefined) await this.cookiesAt?.(Number(reply[1]));
    const out: CrawlRequest[] = [];
    for (let i = 2; i < reply.length; i += 2) {
      const id = reply[i]!;
      const request = decodeRequest(reply[i + 1]!);
      if (!request) throw new SharedFrontierError(`request ${id} in Redis cannot be read`);
      const ids = this.held.get(request.fingerprint);
      if (ids) ids.push(id);
      else this.held.set(request.fingerprint, [id]);
      this.heldCount++;
      out.push(request);
    }
    return out;
  }

  /**
   * Shares `jar` with the crawl's other processes: what it stores goes to Redis at once (before
   * the page's links are added on the same connection, so no process can take one of them first),
   * and a claim that sees a newer jar takes it in before its requests are fetched.
   */
  shareCookies(jar: CookieSession, failed: (error: unknown) => void): void {
    let version = 0;
    jar.onChange((cookies) => {
      const args = cookies.flatMap((c) => [`${c.domain};${c.path};${c.key}`, JSON.stringify(c.toJSON())]);
      void this.eval(lua.PUT_COOKIES, ['cookies', 'counters'], args).catch(failed);
    });
    this.cookiesAt = async (at) => {
      if (at <= version) return;
      version = at;
      const held = await this.link.run((client) => client.hVals(this.key('cookies')));
      await jar.adopt(held);
    };
  }

  /** How many of `count` items found on a page the crawl-wide item limit lets through (and counts). */
  async grantItems(count: number): Promise<number> {
    if (count === 0) return 0;
    const granted = Number(
      await this.eval(lua.GRANT_ITEMS, ['counters'], [String(count), limitArg(this.options.maxItems)]),
    );
    if (granted < count) this.reached = 'maxItems';
    return granted;
  }

  /** The requests are finished (fetched and their items handled, or failed for good). */
  async done(requests: readonly CrawlRequest[]): Promise<void> {
    const ids: string[] = [];
    const taken = new Map<string, number>();
    for (const { fingerprint } of requests) {
      const index = taken.get(fingerprint) ?? 0;
      const id = this.held.get(fingerprint)?.[index];
      if (id === undefined) continue;
      ids.push(id);
      taken.set(fingerprint, index + 1);
    }
    if (ids.length === 0) return;
    await this.eval(lua.DONE, ['requests', 'leases', 'ranks', 'counters'], ids);
    for (const request of requests) this.forget(request.fingerprint);
  }

  /** Gives every held request back to the queue, e.g. when this process stops early. */
  async releaseAll(): Promise<void> {
    const ids = [...this.held.values()].flat();
    if (ids.length === 0) return;
    await this.eval(lua.RELEASE, ['queue', 'ranks', 'leases', 'requests', 'hostq'], ids);
    this.held.clear();
    this.heldCount = 0;
  }

  /**
   * True when the whole crawl has nothing left: the queue is empty and every lease is this
   * process's own (requests it finished whose items are still being handled).
   */
  async idle(): Promise<boolean> {
    const [queued, leased] = await this.link.run((client) =>
      Promise.all([client.zCard(this.key('queue')), client.zCard(this.key('leases'))]),
    );
    return queued === 0 && leased <= this.heldCount;
  }

  /**
   * Takes a turn for `origin` across every process of the crawl, by the rule of `HostLimits` on
   * Redis's clock: at most `limit.concurrency` requests holding a slot, and `startGapMs` between
   * two admissions. Returns 0 and the slot's release when admitted, else how long to wait
   * (Infinity: until a slot frees). A slot is renewed with the leases, so a process that dies
   * frees its slots within `leaseMs`.
   */
  async gate(
    origin: string,
    limit: ResolvedHostLimit,
  ): Promise<{ waitMs: number; release?: () => Promise<void> }> {
    const slot = randomUUID();
    const keys = [`host:${origin}`, `slots:${origin}`, `throttle:${origin}`];
    const gapMs = startGapMs(limit.delayMs, limit.jitterMs, this.random);
    const args = [slot, String(limit.concurrency), String(Math.ceil(gapMs)), String(this.leaseMs)];
    const wait = Number(await this.eval(lua.GATE, keys, args));
    if (wait < 0) return { waitMs: Number.POSITIVE_INFINITY };
    if (wait !== 0) return { waitMs: wait };
    const slotsKey = this.key(`slots:${origin}`);
    this.slots.set(slot, slotsKey);
    return {
      waitMs: 0,
      release: async () => {
        this.slots.delete(slot);
        await this.link
          .run((client) => client.zRem(slotsKey, slot))
          .catch((error) => this.leaseFailed('a host slot release', error));
      },
    };
  }

  /** This process's adaptive throttle changed for `origin` (or a Retry-After paused it): every process follows. */
  async throttle(origin: string, limit: ResolvedHostLimit, pauseMs: number): Promise<void> {
    const args = [limit.concurrency, Math.ceil(limit.delayMs), Math.ceil(pauseMs), THROTTLE_TTL_MS].map(
      String,
    );
    await this.eval(lua.THROTTLE, [`host:${origin}`, `throttle:${origin}`], args);
  }

  /**
   * Whether this process adds the crawl's start requests: 'mine' for the first process of the
   * crawl id (it then calls `seeded`), 'done' once they are in; waits while another adds them.
   */
  async seedTurn(): Promise<'mine' | 'done'> {
    for (;;) {
      const state = String(await this.eval(lua.LOCK, ['seeding'], [this.processId, String(LOCK_MS)]));
      if (state === 'mine') this.seedingLock = true;
      if (state !== 'busy') return state as 'mine' | 'done';
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }

  /** The start requests are in the queue; `origins` are theirs, for the host filter of every process. */
  async seeded(origins: readonly string[]): Promise<void> {
    await this.link.run(async (client) => {
      if (origins.length > 0) await client.sAdd(this.key('origins'), [...origins]);
      await client.set(this.key('seeding'), 'done');
    });
    this.seedingLock = false;
  }

  /** Adding the start requests failed: the next process to come tries again. */
  async unseeded(): Promise<void> {
    if (!this.seedingLock) return;
    this.seedingLock = false;
    await this.link.run((client) => client.del(this.key('seeding')));
  }

  /** The origins of the crawl's start requests, as the process that added them recorded them. */
  seedOrigins(): Promise<string[]> {
    return this.link.run((client) => client.sMembers(this.key('origins')));
  }

  /** Stops renewing; requests still held are given back to the queue; the last report says how it ended. */
  async close(state: StopReason = 'aborted'): Promise<void> {
    clearInterval(this.renewTimer);
    await this.renewing;
    try {
      await this.releaseAll();
      await this.unseeded();
      await this.beat(state);
    } finally {
      await this.link.close();
    }
  }

  /** A key of this crawl. */
  key(name: string): string {
    return `${this.prefix}${name}`;
  }

  private renew(): void {
    // A renewal still waiting (Redis is away) is not stacked on.
    if (this.renewing) return;
    const ids = [...this.held.values()].flat();
    const args = [String(this.leaseMs), String(ids.length), ...ids];
    for (const [slot, key] of this.slots) args.push(key, slot);
    const seeding = this.seedingLock
      ? this.eval(lua.LOCK, ['seeding'], [this.processId, String(LOCK_MS)])
      : undefined;
    this.renewing = Promise.all([this.eval(lua.RENEW, ['leases'], args), this.beat(), seeding])
      .catch((error) => this.leaseFailed('a lease renewal', error))
      .finally(() => (this.renewing = undefined));
  }

  private leaseFailed(what: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.onLeaseFailure?.(new SharedFrontierError(`${what} failed: ${message}`, { cause: error }));
  }

  private forget(fingerprint: string): void {
    const leases = this.held.get(fingerprint);
    if (!leases) return;
    leases.shift();
    this.heldCount--;
    if (leases.length === 0) this.held.delete(fingerprint);
  }

  private eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.link.eval(
      script,
      keys.map((k) => this.key(k)),
      args,
    );
  }
}

/** A limit as a script argument: -1 for none. */
function limitArg(limit: number | undefined): string {
  return limit === undefined || !Number.isFinite(limit) ? '-1' : String(limit);
}
