/**
 * Builds every stage of a crawl from the spider and its resolved settings, in dependency order:
 * the frontier store (restored and seeded), the host limits, the fetcher, the host turns and the
 * parser pool. What is built here is complete; what was opened is closed again if a later step fails.
 */
import { RedirectError } from '../errors.js';
import { CookieSession } from '../fetcher/cookies.js';
import { Fetcher } from '../fetcher/fetcher.js';
import { fetchSettings } from '../fetcher/fetcher-options.js';
import { HostLimits } from '../fetcher/host-limits.js';
import { importModule, resolveModulePath } from '../load-module.js';
import type { ResolvedOptions } from '../options.js';
import { ParserPool } from '../parser/pool.js';
import { type Spider, spiderFromModule, validateSpider } from '../spider.js';
import type { RequestInit } from '../types.js';
import type { FrontierPolicy } from './admission.js';
import { DistributedStore } from './distributed-store.js';
import { Frontier } from './frontier.js';
import type { FrontierStore } from './frontier-store.js';
import { type HostTurns, localTurns, SharedTurns } from './host-turns.js';
import { JobDir } from './job-dir.js';
import { JobDirStore } from './job-dir-store.js';
import { followedHosts, startRequests } from './seeds.js';
import { SharedFrontier } from './shared-frontier.js';

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
}

export async function wire(
  { spider, spiderPath }: LoadedSpider,
  options: ResolvedOptions,
  hooks: WiringHooks,
): Promise<Stages> {
  const seeds = await startRequests(spider, options);
  const allowed = followedHosts(options, seeds);
  const backing = await openBacking(options, { maxDepth: options.maxDepth, allowedHosts: allowed }, hooks);
  const store = backing.store;
  let fetcher: Fetcher | undefined;
  try {
    // On resume the seeds are deduped against the restored seen set, as Scrapy's JOBDIR does; in a
    // distributed crawl, against every process's (a second process adds nothing new).
    await store.add(seeds);
    const hostLimits = new HostLimits(options.perHost, {
      rules: options.hosts,
      adaptive: options.adaptiveThrottle,
      maxPauseMs: options.backoff.maxRetryAfterMs,
    });
    fetcher = await createFetcher(options, seeds, allowed, hostLimits, backing.cookieJar);
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

/** The frontier store the settings ask for, opened and restored, and what comes with it. */
interface Backing {
  store: FrontierStore;
  restored: number;
  /** The cookie jar kept with the store (a job directory's), if any. */
  cookieJar: CookieSession | undefined;
  turns(limits: HostLimits, fetcher: Fetcher): HostTurns;
}

function openBacking(options: ResolvedOptions, policy: FrontierPolicy, hooks: WiringHooks): Promise<Backing> {
  if (options.distributed) return openDistributed(options.distributed, options, policy, hooks);
  if (options.jobDir) return openJobDir(options.jobDir, options, policy);
  return Promise.resolve({
    store: new Frontier(policy),
    restored: 0,
    cookieJar: undefined,
    turns: () => localTurns,
  });
}

async function openJobDir(dir: string, options: ResolvedOptions, policy: FrontierPolicy): Promise<Backing> {
  const log = new JobDir(dir);
  const store = new JobDirStore(new Frontier(policy), log);
  const restored = await store.restore();
  try {
    // The jar lives in the job directory, so a resumed crawl keeps its session.
    const cookieJar = options.cookies ? log.keepCookies((saved) => new CookieSession(saved)) : undefined;
    return { store, restored, cookieJar, turns: () => localTurns };
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}

async function openDistributed(
  distributed: NonNullable<ResolvedOptions['distributed']>,
  options: ResolvedOptions,
  policy: FrontierPolicy,
  hooks: WiringHooks,
): Promise<Backing> {
  const shared = await SharedFrontier.connect({
    url: distributed.redis,
    crawlId: distributed.crawlId,
    leaseMs: distributed.leaseMs,
    onLeaseFailure: (error) => hooks.leaseFailed(error),
  });
  const store = new DistributedStore(shared, policy, distributed.redis);
  const turns = (limits: HostLimits, fetcher: Fetcher) =>
    new SharedTurns(
      shared,
      limits,
      {
        ready: (origin) => !options.obeyRobotsTxt || fetcher.knowsRobots(origin),
        prepare: (origin) =>
          fetcher.robotsFor(origin).then(
            () => undefined,
            () => undefined,
          ),
      },
      (error) => hooks.storeFailed(error, store.location),
    );
  return { store, restored: await store.restore(), cookieJar: undefined, turns };
}

function createFetcher(
  options: ResolvedOptions,
  seeds: RequestInit[],
  allowed: Set<string> | undefined,
  hostLimits: HostLimits,
  cookieJar: CookieSession | undefined,
): Promise<Fetcher> {
  return Fetcher.create({
    ...fetchSettings(options),
    // Redirect hops obey the same host filter as followed links.
    checkRedirect: (url) => {
      if (allowed && !allowed.has(new URL(url).hostname))
        throw new RedirectError(`redirect to offsite ${url}`);
    },
    hostLimits,
    ...(cookieJar ? { cookieJar } : {}),
    startUrls: seeds.map((s) => s.url),
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
