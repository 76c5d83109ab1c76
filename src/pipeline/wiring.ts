/**
 * Builds every stage of a crawl from the spider and its resolved settings, in dependency order:
 * the frontier store (restored and seeded), the host limits, the fetcher, the host turns and the
 * parser pool. What is built here is complete; what was opened is closed again if a later step fails.
 */
import { RedirectError } from '../errors.js';
import { CookieSession } from '../fetcher/cookies.js';
import { Fetcher } from '../fetcher/fetcher.js';
import { fetchSettings } from '../fetcher/fetcher-options.js';
import { HostLimits, type HostLimitsOptions } from '../fetcher/host-limits.js';
import { importModule, resolveModulePath } from '../load-module.js';
import type { ResolvedOptions } from '../options.js';
import { ParserPool } from '../parser/pool.js';
import { BrowserPool } from '../render/browser-pool.js';
import { type Spider, spiderFromModule, validateSpider } from '../spider.js';
import { DistributedStore } from './distributed-store.js';
import { Frontier } from './frontier.js';
import type { FrontierStore } from './frontier-store.js';
import { type HostTurns, localTurns, SharedTurns } from './host-turns.js';
import { JobDir } from './job-dir.js';
import { JobDirStore } from './job-dir-store.js';
import { followedHosts, startRequests } from './seeds.js';
import type { ConnectionEvent } from './redis-link.js';
import { type ProcessReport, SharedFrontier } from './shared-frontier.js';
import { type SharedRobots, shareRobots } from './shared-robots.js';
import type { StopReason } from './stats.js';

/** A spider module path, or an inline spider object (parsed on the main thread). */
export type SpiderSource = string | Spider;

export interface LoadedSpider {
  spider: Spider;
  /** The module workers import the spider from; '' for an inline spider, parsed on the main thread. */
  spiderPath: string;
}

export interface Stages extends LoadedSpider {
  options: ResolvedOptions;
  store: FrontierStore;
  /** Requests the store brought back from an earlier run. */
  restored: number;
  hostLimits: HostLimits;
  turns: HostTurns;
  fetcher: Fetcher;
  pool: ParserPool;
}

/** What the stages report back to the crawl while it runs. */
export interface WiringHooks {
  /** The store failed (the job directory or Redis): the crawl must end with the error. */
  storeFailed(error: unknown, where: string): void;
  workerFailed(error: Error): void;
  /** A lease renewal of the shared frontier failed; the crawl goes on. */
  leaseFailed(error: Error): void;
  /** The connection to Redis was lost or is back (a distributed crawl). */
  connection(event: ConnectionEvent): void;
  /** A host asked (Retry-After, or robots.txt down) for its requests to wait this long. */
  paused(origin: string, pauseMs: number): void;
  /** This process's progress, for the other processes and `trawl status`. */
  report(): ProcessReport;
  /** Why the crawl is ending ('finished' when it is not stopping). */
  stopReason(): StopReason;
}

export async function wire(
  { spider, spiderPath }: LoadedSpider,
  options: ResolvedOptions,
  hooks: WiringHooks,
): Promise<Stages> {
  const backing = await openBacking(spider, options, hooks);
  const { store, seedUrls, allowed } = backing;
  let fetcher: Fetcher | undefined;
  try {
    const hostLimits = new HostLimits(options.perHost, {
      rules: options.hosts,
      adaptive: options.adaptiveThrottle,
      maxPauseMs: options.backoff.maxRetryAfterMs,
      onThrottle: (origin, limit, pauseMs) => {
        if (pauseMs > 0) hooks.paused(origin, pauseMs);
        backing.onThrottle?.(origin, limit, pauseMs);
      },
    });
    fetcher = await createFetcher(options, seedUrls, allowed, hostLimits, backing);
    const turns = backing.turns(hostLimits, fetcher);
    const pool = createPool(options, spider, spiderPath, hooks);
    return {
      spider,
      spiderPath,
      options,
      store,
      restored: backing.restored,
      hostLimits,
      turns,
      fetcher,
      pool,
    };
  } catch (error) {
    await Promise.allSettled([fetcher?.close(), store.close()]);
    throw error;
  }
}

export async function loadSpider(source: SpiderSource): Promise<LoadedSpider> {
  if (typeof source !== 'string') {
    validateSpider(source, 'inline spider');
    return { spider: source, spiderPath: '' };
  }
  const spiderPath = resolveModulePath(source);
  return { spider: spiderFromModule(await importModule(spiderPath), source), spiderPath };
}

/**
 * The spider a module exports (a relative path is taken from `process.cwd()`), checked as a crawl
 * checks it: for tools that show or run a spider's parts, such as `trawl list` and `trawl parse`.
 */
export async function importSpider(path: string): Promise<Spider> {
  return (await loadSpider(path)).spider;
}

/** The frontier store the settings ask for, opened, restored and seeded, and what comes with it. */
interface Backing {
  store: FrontierStore;
  restored: number;
  /** The start URLs (or, in a distributed crawl joined later, their origins). */
  seedUrls: string[];
  /** The hosts followed links may go to; undefined: any. */
  allowed: Set<string> | undefined;
  /** The cookie jar kept with the store (a job directory's), if any. */
  cookieJar?: CookieSession;
  /** Where robots.txt comes from, if not from each fetcher alone. */
  sharedRobots?: SharedRobots;
  onThrottle?: HostLimitsOptions['onThrottle'];
  turns(limits: HostLimits, fetcher: Fetcher): HostTurns;
}

async function openBacking(spider: Spider, options: ResolvedOptions, hooks: WiringHooks): Promise<Backing> {
  if (options.distributed) return openDistributed(options.distributed, spider, options, hooks);
  const seeds = await startRequests(spider, options);
  const allowed = followedHosts(options, seeds);
  const policy = { maxDepth: options.maxDepth, allowedHosts: allowed };
  const local = { seedUrls: seeds.map((s) => s.url), allowed, turns: () => localTurns };
  if (!options.jobDir) {
    const store = new Frontier(policy);
    await store.add(seeds);
    return { ...local, store, restored: 0 };
  }
  const log = new JobDir(options.jobDir);
  const store = new JobDirStore(new Frontier(policy), log);
  let restored = await store.restore();
  if (options.recrawl)
    restored += store.queueRevisits(options.recrawl === true ? 0 : options.recrawl.olderThanMs);
  try {
    // On resume the seeds are deduped against the restored seen set, as Scrapy's JOBDIR does.
    await store.add(seeds);
    // The jar lives in the job directory, so a resumed crawl keeps its session.
    const cookieJar = options.cookies ? log.keepCookies((saved) => new CookieSession(saved)) : undefined;
    return { ...local, store, restored, ...(cookieJar ? { cookieJar } : {}) };
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}

/**
 * A distributed crawl: the first process of the crawl id runs the spider's start requests (a
 * `start()` generator runs once per crawl, not in every process) and records their origins; every
 * later one takes the host filter from those.
 */
async function openDistributed(
  distributed: NonNullable<ResolvedOptions['distributed']>,
  spider: Spider,
  options: ResolvedOptions,
  hooks: WiringHooks,
): Promise<Backing> {
  const shared = await SharedFrontier.connect({
    url: distributed.redis,
    crawlId: distributed.crawlId,
    leaseMs: distributed.leaseMs,
    outageMs: distributed.outageMs,
    maxPages: options.maxPages,
    maxItems: options.maxItems,
    onLeaseFailure: (error) => hooks.leaseFailed(error),
    onConnection: (event) => hooks.connection(event),
  });
  try {
    shared.reportWith(() => hooks.report());
    const elapsedMs = await shared.beat();
    const seeding = await shared.seedTurn();
    const seeds = seeding === 'mine' ? await startRequests(spider, options) : [];
    const origins =
      seeding === 'mine' ? [...new Set(seeds.map((s) => new URL(s.url).origin))] : await shared.seedOrigins();
    const allowed = followedHosts(
      options,
      origins.map((url) => ({ url })),
    );
    const policy = { maxDepth: options.maxDepth, allowedHosts: allowed };
    const store = new DistributedStore(shared, policy, distributed.redis, elapsedMs, () =>
      hooks.stopReason(),
    );
    // One cookie session for the crawl: a login done by the process that runs start() holds for all.
    const cookieJar = options.cookies ? new CookieSession() : undefined;
    if (cookieJar) shared.shareCookies(cookieJar, (error) => hooks.leaseFailed(error as Error));
    await store.add(seeds);
    if (seeding === 'mine') await shared.seeded(origins);
    return {
      store,
      restored: 0,
      ...(cookieJar ? { cookieJar } : {}),
      seedUrls: origins,
      allowed,
      sharedRobots: shareRobots(shared),
      onThrottle: (origin, limit, pauseMs) =>
        void shared.throttle(origin, limit, pauseMs).catch((error) => hooks.leaseFailed(error)),
      turns: (limits, fetcher) =>
        sharedTurns(shared, limits, fetcher, options, (error, where) => hooks.storeFailed(error, where)),
    };
  } catch (error) {
    await shared.close('error').catch(() => undefined);
    throw error;
  }
}

function sharedTurns(
  shared: SharedFrontier,
  limits: HostLimits,
  fetcher: Fetcher,
  options: ResolvedOptions,
  failed: WiringHooks['storeFailed'],
): HostTurns {
  return new SharedTurns(
    shared,
    limits,
    {
      ready: (origin) => !options.obeyRobotsTxt || fetcher.knowsRobots(origin),
      // Crawl-delay is in force before the first shared turn, so the gate spaces every process.
      prepare: (origin) =>
        fetcher.robotsFor(origin).then(
          (rules) => {
            if (rules?.crawlDelayMs) limits.setCrawlDelay(origin, rules.crawlDelayMs);
          },
          () => undefined,
        ),
    },
    (error) => failed(error, options.distributed?.redis ?? ''),
  );
}

function createFetcher(
  options: ResolvedOptions,
  seedUrls: string[],
  allowed: Set<string> | undefined,
  hostLimits: HostLimits,
  backing: Pick<Backing, 'cookieJar' | 'sharedRobots'>,
): Promise<Fetcher> {
  return Fetcher.create({
    ...fetchSettings(options),
    // Redirect hops obey the same host filter as followed links.
    checkRedirect: (url) => {
      if (allowed && !allowed.has(new URL(url).hostname))
        throw new RedirectError(`redirect to offsite ${url}`);
    },
    hostLimits,
    // Nothing starts until a request renders: a crawl that never renders loads no browser.
    renderer: new BrowserPool({ ...options.browser, userAgent: options.userAgent, headers: options.headers }),
    ...(backing.cookieJar ? { cookieJar: backing.cookieJar } : {}),
    ...(backing.sharedRobots ? { sharedRobots: backing.sharedRobots } : {}),
    startUrls: seedUrls,
  });
}

function createPool(
  options: ResolvedOptions,
  spider: Spider,
  spiderPath: string,
  hooks: WiringHooks,
): ParserPool {
  return new ParserPool({
    // Inline spider objects have no module path a worker could import, so they parse here.
    workers: spiderPath ? options.workers : 0,
    parseTimeoutMs: options.parseTimeoutMs,
    spider,
    ...(options.workerHeapMb ? { workerHeapMb: options.workerHeapMb } : {}),
    onWorkerError: (error) => hooks.workerFailed(error),
  });
}
