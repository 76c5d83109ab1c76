/**
 * Every setting, declared once: the interfaces below are what editors show (a type-level test
 * keeps them equal to the schema's types), the schema in settings-schema.ts gives each key its
 * type, its default and its check, and the README's settings table is generated from both
 * (`npm run docs:settings`).
 */
import { availableParallelism } from 'node:os';
import * as v from 'valibot';
import { OptionError } from './errors.js';
import { checkOptions, unwrap } from './option-schema.js';
import {
  adaptiveThrottle,
  crawlOnlyShape,
  crawlOptionsSchema,
  distributed,
  type DnsLookup,
  settingsSchema,
  settingsShape,
} from './settings-schema.js';
import type { RenderOptions, RequestInit } from './types.js';

export { crawlOptionsSchema, DEFAULT_USER_AGENT, type DnsLookup, settingsSchema } from './settings-schema.js';

/** Per-host politeness as plain data. The limit key is the origin (scheme, host, port). */
export interface HostLimit {
  /** Most requests in flight to one origin at once. @default 8 */
  concurrency?: number;
  /** Smallest gap between two request starts to one origin, in ms. @default 0 */
  delayMs?: number;
  /** Random extra gap in [0, jitterMs) added to each delay. @default 0 */
  jitterMs?: number;
}

/** A per-host override: `match` is a hostname (`example.com`), `*.example.com`, an origin or a RegExp. */
export interface HostRule {
  /** The hosts the rule is for: `example.com`, `*.example.com`, an origin, or a RegExp. */
  match: string | RegExp;
  /** Most requests in flight to a matching origin at once. @default perHost.concurrency */
  concurrency?: number;
  /** Smallest gap between two request starts to a matching origin, in ms. @default perHost.delayMs */
  delayMs?: number;
  /** Random extra gap in [0, jitterMs) added to each delay. @default perHost.jitterMs */
  jitterMs?: number;
}

/** Timeouts of each attempt. */
export interface TimeoutOptions {
  /** TCP/TLS connect. @default 10_000 */
  connectMs?: number;
  /** From request sent to response headers. @default 30_000 */
  headersMs?: number;
  /** Longest silence while reading the body. @default 30_000 */
  bodyIdleMs?: number;
  /** Whole request including body, per attempt. @default 60_000 */
  totalMs?: number;
}

/** Tuning of adaptive throttling; see `CrawlSettings.adaptiveThrottle`. */
export interface AdaptiveThrottleOptions {
  /** Gap used after the first overload signal when the configured gap is smaller. @default 250 */
  minBackoffGapMs?: number;
  /** Widest gap throttling will set. @default 15_000 */
  maxGapMs?: number;
  /** Smoothed latency above this multiple of the host's best counts as overload... @default 4 */
  latencyFactor?: number;
  /** ...when it is also this many ms above it, so a fast host's noise does not count. @default 250 */
  latencyFloorMs?: number;
  /** Healthy answers in a row before one step back toward the configured limits. @default 8 */
  recoverAfter?: number;
}

/** Delay between attempts of a retried request. */
export interface BackoffOptions {
  /** First backoff step; step n is up to baseMs * 2^(n-1), with full jitter. @default 500 */
  baseMs?: number;
  /** Largest backoff step. @default 30_000 */
  maxMs?: number;
  /** Most a server's Retry-After (or a robots.txt outage) is waited for. @default 60_000 */
  maxRetryAfterMs?: number;
}

/** The Chromium that renders pages (`render`). */
export interface BrowserOptions {
  /** The Chromium or Chrome binary. @default TRAWL_CHROMIUM_PATH, else chromium on PATH */
  executablePath?: string;
  /** Browser contexts rendering at once (each an isolated profile, about one tab). @default 2 */
  contexts?: number;
  /** Pages a context renders before it is closed and a fresh one opened, bounding its memory. @default 50 */
  pagesPerContext?: number;
  /** How long Chromium may take to start. @default 30_000 */
  launchTimeoutMs?: number;
}

/** How items reach the outputs, and what happens when one fails. */
export interface SinkOptions {
  /**
   * How long a failing output is retried (the crawl waiting for it) before its unwritten items,
   * and every later one, go to a fallback JSONL file instead. @default 180_000
   */
  giveUpAfterMs?: number;
  /** First retry delay of a failed write; doubled each attempt, with jitter. @default 200 */
  retryBaseMs?: number;
  /** Largest retry delay of a failed write. @default 10_000 */
  retryMaxMs?: number;
  /** Batches each output may have waiting before it holds the crawl back. @default 4 */
  queueBatches?: number;
  /**
   * Most items in one write; a batch is cut sooner when no more items are waiting, so a trickle
   * is not held back. @default 1000
   */
  batchSize?: number;
  /** Where fallback files go. @default the job directory, else the working directory */
  fallbackDir?: string;
}

/** The optional development cache of responses. */
export interface HttpCacheOptions {
  /**
   * `memory:`, `sqlite://path/cache.sqlite` (needs the optional `@keyv/sqlite`), or a directory
   * (`file://dir` or a plain path) holding one file per response.
   */
  uri?: string;
  /** Any open Keyv instance; wins over `uri`. */
  keyv?: import('keyv').default;
  /** How long an entry is served. @default Infinity */
  ttlMs?: number;
}

/** Settings a spider may declare; the same keys can be overridden per crawl. */
export interface CrawlSettings {
  /** Fetches in flight across all hosts. @default 16 */
  concurrency?: number;
  /**
   * Default per-origin limit. Eight at a time, as Scrapy's default, so a few URLs of a host that
   * never answer leave it room for the rest. @default { concurrency: 8, delayMs: 0, jitterMs: 0 }
   */
  perHost?: HostLimit;
  /** Per-host overrides, first match wins. @default [] */
  hosts?: HostRule[];
  /** Stop after this many fetched pages (in a distributed crawl, by all its processes together). @default Infinity */
  maxPages?: number;
  /** Stop after this many items (in a distributed crawl, by all its processes together). @default Infinity */
  maxItems?: number;
  /** Requests deeper than this (start URLs are depth 0) are dropped. @default Infinity */
  maxDepth?: number;
  /** Stop the crawl after this long (in a distributed crawl, since its first process started). @default Infinity */
  timeLimitMs?: number;
  /** Hosts that followed links may go to. @default the hosts of the start URLs */
  allowedHosts?: string[];
  /** Follow links to any host. @default false */
  followOtherHosts?: boolean;
  /** Retries after the first attempt for retryable failures. @default 3 */
  retries?: number;
  /**
   * Timeouts of each attempt.
   * @default { connectMs: 10_000, headersMs: 30_000, bodyIdleMs: 30_000, totalMs: 60_000 }
   */
  timeouts?: TimeoutOptions;
  /** Cap on body bytes, applied both on the wire and after decompression. @default 10 MiB */
  maxBodyBytes?: number;
  /** Redirect hops followed before giving up. @default 10 */
  maxRedirects?: number;
  /**
   * Sent as `user-agent`; robots.txt rules are matched against its product token.
   * @default 'trawl/0.1 (+https://www.npmjs.com/package/trawl)'
   */
  userAgent?: string;
  /** Headers sent with every request; the crawl's are added to the spider's. @default {} */
  headers?: Record<string, string>;
  /** Kill and replace a worker whose callback runs longer than this on one page. @default 30_000 */
  parseTimeoutMs?: number;
  /**
   * Per-host adaptive throttling: 429/503, a host-wide share of timeouts (a few URLs that never
   * answer do not count) and rising latency lower a host's concurrency and widen its gap, healthy
   * answers restore them up to the configured limits. @default true
   */
  adaptiveThrottle?: boolean | AdaptiveThrottleOptions;
  /**
   * Retry delays: exponential, with full jitter.
   * @default { baseMs: 500, maxMs: 30_000, maxRetryAfterMs: 60_000 }
   */
  backoff?: BackoffOptions;
  /** Fetch and obey each origin's robots.txt for the user agent's product token. @default true */
  obeyRobotsTxt?: boolean;
  /**
   * Requests to private, loopback, link-local and multicast addresses: `true` allows them, a list
   * allows those addresses or CIDR ranges, `false` refuses all.
   * @default allowed only when a start URL is on such an address
   */
  allowPrivateNetwork?: boolean | string[];
  /** Send every request through this HTTP proxy (`http://user:pass@host:port`). @default none */
  proxy?: string;
  /**
   * Keep cookies the sites set and send them back. With a job directory the jar is saved there,
   * so a resumed crawl is still logged in. @default true
   */
  cookies?: boolean;
  /**
   * Statuses outside 2xx whose responses go to the callbacks (`page.status` tells) instead of
   * failing, like Scrapy's `handle_httpstatus_list`: integers 100-599. An accepted status is not
   * retried, an accepted redirect status is not followed. A request's own `acceptStatus`
   * replaces this list. @default []
   */
  acceptStatus?: number[];
  /** Cache responses (off unless set): a URI string or options. @default off */
  httpCache?: string | HttpCacheOptions;
  /**
   * Render every page in Chromium (`true` or render options); a request's own `render` wins.
   * Needs the optional `playwright-core` package and a Chromium (see `browser`). @default false
   */
  render?: boolean | RenderOptions;
  /**
   * The Chromium that renders pages: where it is, how many browser contexts render at once and
   * how many pages each renders before it is replaced by a fresh one.
   * @default { contexts: 2, pagesPerContext: 50, launchTimeoutMs: 30_000 }
   */
  browser?: BrowserOptions;
  /**
   * Output queues, write retries and the fallback file.
   * @default { giveUpAfterMs: 180_000, retryBaseMs: 200, retryMaxMs: 10_000, queueBatches: 4, batchSize: 1000 }
   */
  sinks?: SinkOptions;
}

/** Everything `crawl()` accepts. */
export interface CrawlOptions extends CrawlSettings {
  /**
   * Replaces the spider's start URLs (or requests, e.g. lines of a failures file).
   * @default the spider's startUrls and start()
   */
  start?: Array<string | RequestInit>;
  /** Parser worker threads; 0 parses on the main thread. @default min(cores, 4) */
  workers?: number;
  /** Heap cap per parser worker in MB; a worker over it is stopped and its page retried once. @default Node's */
  workerHeapMb?: number;
  /** Parsed items held before the consumer takes them. @default 1000 */
  itemBuffer?: number;
  /**
   * Once the crawl is stopped (`stop()`, a page/item/time limit, a signal), requests in flight get
   * this long to finish and deliver their items; those still running are then cancelled and
   * counted in `stats.unfinished` (a job directory fetches them again on resume). @default 5000
   */
  stopGraceMs?: number;
  /** Stops the crawl when aborted. */
  signal?: AbortSignal;
  /** Resolves hostnames (the network guard checks what it returns). @default dns.lookup */
  dnsLookup?: DnsLookup;
  /**
   * Directory where the frontier and the seen set are kept as the crawl runs; a crawl started with
   * the same directory resumes. Nothing is written to disk unless this is set. @default none
   */
  jobDir?: string;
  /**
   * Revisit the pages a job directory has on record (all of them, or those last fetched more than
   * `olderThanMs` ago), sending the validators stored for each (If-None-Match, If-Modified-Since).
   * A 304, or a body with the same SHA-256 as before, is counted in `stats.notModified` and not
   * parsed again; a changed page is parsed and its items written again. Needs `jobDir`.
   * @default false
   */
  recrawl?: boolean | RecrawlOptions;
  /**
   * Share the frontier through Redis with every process that runs the crawl under the same
   * `crawlId`: each URL is fetched once across them, per-host limits hold across them, and a
   * process that dies has its requests taken over by the others. Not with `jobDir`.
   */
  distributed?: DistributedOptions;
}

export interface RecrawlOptions {
  /** Only pages last fetched at least this long ago. @default 0 */
  olderThanMs?: number;
}

export interface DistributedOptions {
  /** redis:// or rediss:// URL. */
  redis: string;
  /** Name of the crawl; keys live under `trawl:<crawlId>:`. */
  crawlId: string;
  /** How long a request taken by a process stays its own without renewal. @default 15_000 */
  leaseMs?: number;
  /**
   * How long a process waits for a Redis that went away (a restart, a failover) to come back,
   * keeping its in-flight work, before the crawl fails. @default 300_000
   */
  outageMs?: number;
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

type Parsed = v.InferOutput<typeof crawlOptionsSchema>;

/** Options as the pipeline reads them: every default applied. */
export type ResolvedOptions = Omit<Parsed, 'adaptiveThrottle' | 'httpCache' | 'workers'> & {
  /** `false`, or the throttle's tuning with its defaults. */
  adaptiveThrottle: false | Required<AdaptiveThrottleOptions>;
  httpCache: HttpCacheOptions | undefined;
  workers: number;
};

/** Why a crawl-only key cannot be a spider setting. */
const CRAWL_ONLY = new Map(
  Object.keys(crawlOnlyShape).map((key) => [
    key,
    key === 'start'
      ? 'a crawl option, not a spider setting: a spider lists its start URLs in startUrls or start()'
      : 'a crawl option, not a spider setting: give it to crawl() or on the command line',
  ]),
);

/** The tuning of adaptive throttling when it is on without any. */
export const ADAPTIVE_THROTTLE_DEFAULTS: Readonly<Required<AdaptiveThrottleOptions>> = Object.freeze(
  v.parse(adaptiveThrottle, {}),
);

/** The defaults of a distributed crawl's options. */
export const DISTRIBUTED_DEFAULTS: Readonly<Pick<Required<DistributedOptions>, 'leaseMs' | 'outageMs'>> =
  Object.freeze({
    leaseMs: v.getDefault(distributed.entries.leaseMs),
    outageMs: v.getDefault(distributed.entries.outageMs),
  });

/** What a crawl uses for each option nobody set, where the default is a fixed value. */
export const DEFAULTS = deepFreeze(v.parse(crawlOptionsSchema, {}));

/**
 * Merges defaults, the spider's settings and the crawl's options (later wins; object settings
 * such as `perHost` key by key) and validates the result. A spider's settings are checked on
 * their own first, so their errors say `settings.`; unknown keys are errors at every depth.
 */
export function resolveOptions(settings: CrawlSettings = {}, options: CrawlOptions = {}): ResolvedOptions {
  checkOptions(settingsSchema, settings, { root: 'settings', noun: 'setting', misplaced: CRAWL_ONLY });
  const parsed = checkOptions(crawlOptionsSchema, merge(settings, options), { root: '', noun: 'option' });
  if (parsed.jobDir && parsed.distributed)
    throw new OptionError('distributed', 'not set together with jobDir (Redis keeps the frontier)', 'both');
  if (parsed.recrawl && !parsed.jobDir)
    throw new OptionError('recrawl', 'needs jobDir (the pages and their validators are kept there)');
  const { adaptiveThrottle, httpCache, allowedHosts, workers, ...rest } = parsed;
  return {
    ...rest,
    allowedHosts: allowedHosts?.map((host) => host.toLowerCase()),
    adaptiveThrottle: adaptiveThrottle === true ? { ...ADAPTIVE_THROTTLE_DEFAULTS } : adaptiveThrottle,
    httpCache: typeof httpCache === 'string' ? { uri: httpCache } : httpCache,
    workers: workers ?? defaultWorkers(),
  };
}

/**
 * What a crawl with these spider settings and crawl options runs with, every default applied:
 * for showing (`trawl crawl --print-settings`). Throws the OptionError a crawl would.
 */
export function effectiveSettings(
  settings: CrawlSettings = {},
  options: CrawlOptions = {},
): Readonly<Record<string, unknown>> {
  return resolveOptions(settings, options);
}

/** Settings that are objects of their own keys (`perHost`, `headers`): merged key by key, not replaced. */
const MERGED = new Set(
  Object.entries(settingsShape)
    .filter(([, schema]) => ['strict_object', 'record'].includes(unwrap(schema).type))
    .map(([key]) => key),
);

function merge(settings: object, options: object): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...settings };
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const base = merged[key];
    merged[key] =
      MERGED.has(key) && isPlainObject(base) && isPlainObject(value) ? { ...base, ...defined(value) } : value;
  }
  return merged;
}

function defined(object: object): object {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
