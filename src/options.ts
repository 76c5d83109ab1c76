import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { OptionError } from './errors.js';
import type { RequestInit } from './types.js';

/** Per-host politeness as plain data. The limit key is the origin (scheme, host, port). */
export interface HostLimit {
  /** Most requests in flight to one origin at once. @default 2 */
  concurrency?: number;
  /** Smallest gap between two request starts to one origin, in ms. @default 0 */
  delayMs?: number;
  /** Random extra gap in [0, jitterMs) added to each delay. @default 0 */
  jitterMs?: number;
}

/** A per-host override: `match` is a hostname (`example.com`), `*.example.com`, an origin or a RegExp. */
export interface HostRule extends HostLimit {
  match: string | RegExp;
}

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

/** Same shape as `dns.lookup`; lets an embedding program resolve names itself. */
export type DnsLookup = (
  hostname: string,
  options: { all?: boolean; family?: number | string; hints?: number },
  callback: (
    error: NodeJS.ErrnoException | null,
    address: string | Array<{ address: string; family: number }>,
    family?: number,
  ) => void,
) => void;

/** Settings a spider may declare; the same keys can be overridden per crawl. */
export interface CrawlSettings {
  /** Fetches in flight across all hosts. @default 16 */
  concurrency?: number;
  /**
   * Default per-origin limit. Eight at a time, as Scrapy's default, so a few URLs of a host that
   * never answer leave it room for the rest. @default { concurrency: 8, delayMs: 0, jitterMs: 0 }
   */
  perHost?: HostLimit;
  /** Per-host overrides, first match wins. */
  hosts?: HostRule[];
  /** Stop after this many fetched pages. @default Infinity */
  maxPages?: number;
  /** Stop after this many items. @default Infinity */
  maxItems?: number;
  /** Requests deeper than this (start URLs are depth 0) are dropped. @default Infinity */
  maxDepth?: number;
  /** Stop the crawl after this long. @default Infinity */
  timeLimitMs?: number;
  /** Hosts that followed links may go to. @default the hosts of the start URLs */
  allowedHosts?: string[];
  /** Follow links to any host. @default false */
  followOtherHosts?: boolean;
  /** Retries after the first attempt for retryable failures. @default 3 */
  retries?: number;
  timeouts?: TimeoutOptions;
  /** Cap on body bytes, applied both on the wire and after decompression. @default 10 MiB */
  maxBodyBytes?: number;
  /** Redirect hops followed before giving up. @default 10 */
  maxRedirects?: number;
  /** @default 'trawl/0.1 (+https://www.npmjs.com/package/trawl)' */
  userAgent?: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Kill and replace a worker whose callback runs longer than this on one page. @default 30_000 */
  parseTimeoutMs?: number;
  /**
   * Per-host adaptive throttling: 429/503, a host-wide share of timeouts (a few URLs that never
   * answer do not count) and rising latency lower a host's concurrency and widen its gap, healthy
   * answers restore them up to the configured limits. @default true
   */
  adaptiveThrottle?: boolean | AdaptiveThrottleOptions;
  /** Retry delays. */
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
}

/** Everything `crawl()` accepts. */
export interface CrawlOptions extends CrawlSettings {
  /** Replaces the spider's start URLs (or requests, e.g. lines of a failures file). */
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
   * counted in `stats.unfinished` (a job directory fetches them again on resume). @default 5_000
   */
  stopGraceMs?: number;
  /** Stops the crawl when aborted. */
  signal?: AbortSignal;
  /** Resolves hostnames (the network guard checks what it returns). @default dns.lookup */
  dnsLookup?: DnsLookup;
  /**
   * Directory where the frontier and the seen set are kept as the crawl runs; a crawl started with
   * the same directory resumes. Nothing is written to disk unless this is set. @default undefined
   */
  jobDir?: string;
  /**
   * Share the frontier through Redis with every process that runs the crawl under the same
   * `crawlId`: each URL is fetched once across them, per-host limits hold across them, and a
   * process that dies has its requests taken over by the others. Not with `jobDir`.
   */
  distributed?: DistributedOptions;
}

export interface DistributedOptions {
  /** redis:// or rediss:// URL. */
  redis: string;
  /** Name of the crawl; keys live under `trawl:<crawlId>:`. */
  crawlId: string;
  /** How long a request taken by a process stays its own without renewal. @default 15_000 */
  leaseMs?: number;
}

export interface ResolvedOptions {
  concurrency: number;
  perHost: Required<HostLimit>;
  hosts: HostRule[];
  maxPages: number;
  maxItems: number;
  maxDepth: number;
  timeLimitMs: number;
  allowedHosts: string[] | undefined;
  followOtherHosts: boolean;
  retries: number;
  timeouts: Required<TimeoutOptions>;
  maxBodyBytes: number;
  maxRedirects: number;
  userAgent: string;
  headers: Record<string, string>;
  parseTimeoutMs: number;
  adaptiveThrottle: false | AdaptiveThrottleOptions;
  backoff: Required<BackoffOptions>;
  obeyRobotsTxt: boolean;
  allowPrivateNetwork: boolean | string[] | undefined;
  proxy: string | undefined;
  cookies: boolean;
  acceptStatus: number[];
  httpCache: HttpCacheOptions | undefined;
  dnsLookup: DnsLookup | undefined;
  start: Array<string | RequestInit> | undefined;
  workers: number;
  workerHeapMb: number | undefined;
  itemBuffer: number;
  stopGraceMs: number;
  signal: AbortSignal | undefined;
  jobDir: string | undefined;
  distributed: Required<DistributedOptions> | undefined;
}

export const DEFAULT_USER_AGENT = 'trawl/0.1 (+https://www.npmjs.com/package/trawl)';

export const DEFAULTS = {
  concurrency: 16,
  perHost: { concurrency: 8, delayMs: 0, jitterMs: 0 },
  maxPages: Number.POSITIVE_INFINITY,
  maxItems: Number.POSITIVE_INFINITY,
  maxDepth: Number.POSITIVE_INFINITY,
  timeLimitMs: Number.POSITIVE_INFINITY,
  followOtherHosts: false,
  retries: 3,
  timeouts: { connectMs: 10_000, headersMs: 30_000, bodyIdleMs: 30_000, totalMs: 60_000 },
  maxBodyBytes: 10 * 1024 * 1024,
  maxRedirects: 10,
  userAgent: DEFAULT_USER_AGENT,
  parseTimeoutMs: 30_000,
  itemBuffer: 1000,
  stopGraceMs: 5_000,
  adaptiveThrottle: true,
  backoff: { baseMs: 500, maxMs: 30_000, maxRetryAfterMs: 60_000 },
  obeyRobotsTxt: true,
  cookies: true,
} as const;

export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), 4));
}

const KNOWN_KEYS = new Set([
  'concurrency',
  'perHost',
  'hosts',
  'maxPages',
  'maxItems',
  'maxDepth',
  'timeLimitMs',
  'allowedHosts',
  'followOtherHosts',
  'retries',
  'timeouts',
  'maxBodyBytes',
  'maxRedirects',
  'userAgent',
  'headers',
  'parseTimeoutMs',
  'adaptiveThrottle',
  'backoff',
  'obeyRobotsTxt',
  'allowPrivateNetwork',
  'proxy',
  'cookies',
  'acceptStatus',
  'httpCache',
  'dnsLookup',
  'start',
  'workers',
  'workerHeapMb',
  'itemBuffer',
  'stopGraceMs',
  'signal',
  'jobDir',
  'distributed',
]);

/**
 * Merges defaults, the spider's settings and the crawl's options (later wins) and validates the
 * result. Unknown keys are rejected so a typo never silently does nothing.
 */
export function resolveOptions(settings: CrawlSettings = {}, options: CrawlOptions = {}): ResolvedOptions {
  checkKeys(settings, 'settings');
  checkKeys(options, 'options');
  const merged: CrawlOptions = { ...settings, ...stripUndefined(options) };
  const perHost = { ...DEFAULTS.perHost, ...settings.perHost, ...stripUndefined(options.perHost ?? {}) };
  const timeouts = { ...DEFAULTS.timeouts, ...settings.timeouts, ...stripUndefined(options.timeouts ?? {}) };
  const backoff = { ...DEFAULTS.backoff, ...settings.backoff, ...stripUndefined(options.backoff ?? {}) };

  const resolved: ResolvedOptions = {
    concurrency: positiveInt('concurrency', merged.concurrency ?? DEFAULTS.concurrency),
    perHost: {
      concurrency: positiveInt('perHost.concurrency', perHost.concurrency),
      delayMs: nonNegative('perHost.delayMs', perHost.delayMs),
      jitterMs: nonNegative('perHost.jitterMs', perHost.jitterMs),
    },
    hosts: (merged.hosts ?? []).map((rule, i) => checkHostRule(rule, `hosts[${i}]`)),
    maxPages: limit('maxPages', merged.maxPages ?? DEFAULTS.maxPages),
    maxItems: limit('maxItems', merged.maxItems ?? DEFAULTS.maxItems),
    maxDepth: limit('maxDepth', merged.maxDepth ?? DEFAULTS.maxDepth, 0),
    timeLimitMs: limit('timeLimitMs', merged.timeLimitMs ?? DEFAULTS.timeLimitMs),
    allowedHosts: merged.allowedHosts?.map((h, i) => nonEmptyString(`allowedHosts[${i}]`, h).toLowerCase()),
    followOtherHosts: bool('followOtherHosts', merged.followOtherHosts ?? DEFAULTS.followOtherHosts),
    retries: nonNegativeInt('retries', merged.retries ?? DEFAULTS.retries),
    timeouts: {
      connectMs: positive('timeouts.connectMs', timeouts.connectMs),
      headersMs: positive('timeouts.headersMs', timeouts.headersMs),
      bodyIdleMs: positive('timeouts.bodyIdleMs', timeouts.bodyIdleMs),
      totalMs: positive('timeouts.totalMs', timeouts.totalMs),
    },
    maxBodyBytes: positiveInt('maxBodyBytes', merged.maxBodyBytes ?? DEFAULTS.maxBodyBytes),
    maxRedirects: nonNegativeInt('maxRedirects', merged.maxRedirects ?? DEFAULTS.maxRedirects),
    userAgent: nonEmptyString('userAgent', merged.userAgent ?? DEFAULTS.userAgent),
    headers: { ...settings.headers, ...options.headers },
    parseTimeoutMs: positive('parseTimeoutMs', merged.parseTimeoutMs ?? DEFAULTS.parseTimeoutMs),
    adaptiveThrottle: adaptive(merged.adaptiveThrottle ?? DEFAULTS.adaptiveThrottle),
    backoff: {
      baseMs: positive('backoff.baseMs', backoff.baseMs),
      maxMs: positive('backoff.maxMs', backoff.maxMs),
      maxRetryAfterMs: nonNegative('backoff.maxRetryAfterMs', backoff.maxRetryAfterMs),
    },
    obeyRobotsTxt: bool('obeyRobotsTxt', merged.obeyRobotsTxt ?? DEFAULTS.obeyRobotsTxt),
    allowPrivateNetwork: privateNetwork(merged.allowPrivateNetwork),
    proxy: merged.proxy === undefined ? undefined : httpUrl('proxy', merged.proxy),
    cookies: bool('cookies', merged.cookies ?? DEFAULTS.cookies),
    acceptStatus: checkStatusList('acceptStatus', merged.acceptStatus ?? []),
    httpCache: httpCache(merged.httpCache),
    dnsLookup: merged.dnsLookup === undefined ? undefined : fn('dnsLookup', merged.dnsLookup),
    start: startList(merged.start)?.map((u, i) =>
      typeof u === 'string'
        ? nonEmptyString(`start[${i}]`, u)
        : { ...u, url: nonEmptyString(`start[${i}].url`, u?.url) },
    ),
    workers: nonNegativeInt('workers', options.workers ?? defaultWorkers()),
    workerHeapMb:
      options.workerHeapMb === undefined ? undefined : positiveInt('workerHeapMb', options.workerHeapMb),
    itemBuffer: positiveInt('itemBuffer', options.itemBuffer ?? DEFAULTS.itemBuffer),
    stopGraceMs: nonNegative('stopGraceMs', options.stopGraceMs ?? DEFAULTS.stopGraceMs),
    signal: options.signal,
    jobDir: options.jobDir === undefined ? undefined : nonEmptyString('jobDir', options.jobDir),
    distributed: distributed(options.distributed),
  };
  if (resolved.jobDir && resolved.distributed)
    throw new OptionError('distributed', 'not set together with jobDir (Redis keeps the frontier)', 'both');
  return resolved;
}

function distributed(value: DistributedOptions | undefined): Required<DistributedOptions> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new OptionError('distributed', 'an object', value);
  if (typeof value.redis !== 'string' || !/^rediss?:\/\/./.test(value.redis))
    throw new OptionError('distributed.redis', 'a redis:// or rediss:// URL', value.redis);
  if (typeof value.crawlId !== 'string' || !/^[\w.:-]{1,200}$/.test(value.crawlId))
    throw new OptionError('distributed.crawlId', 'a name of letters, digits, . _ : -', value.crawlId);
  return {
    redis: value.redis,
    crawlId: value.crawlId,
    leaseMs: positive('distributed.leaseMs', value.leaseMs ?? 15_000),
  };
}

function checkKeys(object: object, where: string): void {
  for (const key of Object.keys(object)) {
    if (!KNOWN_KEYS.has(key)) throw new OptionError(`${where}.${key}`, 'a known option', key);
  }
}

function stripUndefined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkHostRule(rule: HostRule, path: string): HostRule {
  if (typeof rule !== 'object' || rule === null) throw new OptionError(path, 'an object', rule);
  if (!(typeof rule.match === 'string' || rule.match instanceof RegExp))
    throw new OptionError(`${path}.match`, 'a string or RegExp', rule.match);
  if (rule.concurrency !== undefined) positiveInt(`${path}.concurrency`, rule.concurrency);
  if (rule.delayMs !== undefined) nonNegative(`${path}.delayMs`, rule.delayMs);
  if (rule.jitterMs !== undefined) nonNegative(`${path}.jitterMs`, rule.jitterMs);
  return rule;
}

const ADAPTIVE_KEYS = ['minBackoffGapMs', 'maxGapMs', 'latencyFactor', 'latencyFloorMs', 'recoverAfter'];

function adaptive(value: unknown): false | AdaptiveThrottleOptions {
  if (typeof value === 'boolean') return value ? {} : false;
  if (typeof value !== 'object' || value === null)
    throw new OptionError('adaptiveThrottle', 'a boolean or an object', value);
  for (const [key, v] of Object.entries(value)) {
    if (!ADAPTIVE_KEYS.includes(key)) throw new OptionError(`adaptiveThrottle.${key}`, 'a known option', key);
    if (v !== undefined) positive(`adaptiveThrottle.${key}`, v);
  }
  return value as AdaptiveThrottleOptions;
}

function privateNetwork(value: unknown): boolean | string[] | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (!Array.isArray(value))
    throw new OptionError('allowPrivateNetwork', 'a boolean or a list of addresses', value);
  return value.map((entry, i) => {
    const [address = '', prefix] = String(entry).split('/');
    if (typeof entry !== 'string' || !isIP(address) || (prefix !== undefined && !/^\d{1,3}$/.test(prefix)))
      throw new OptionError(`allowPrivateNetwork[${i}]`, 'an IP address or CIDR range', entry);
    return entry;
  });
}

/** A list of HTTP status codes (integers 100-599), as `acceptStatus` takes. */
export function checkStatusList(path: string, value: unknown): number[] {
  if (!Array.isArray(value)) throw new OptionError(path, 'an array of HTTP statuses (100-599)', value);
  value.forEach((status, i) => {
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599)
      throw new OptionError(`${path}[${i}]`, 'an integer from 100 to 599', status);
  });
  return value as number[];
}

function httpCache(value: unknown): HttpCacheOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return { uri: nonEmptyString('httpCache', value) };
  if (typeof value !== 'object' || value === null)
    throw new OptionError('httpCache', 'a URI string or { uri, keyv, ttlMs }', value);
  const cache = value as HttpCacheOptions;
  if (cache.ttlMs !== undefined) positive('httpCache.ttlMs', cache.ttlMs);
  if (cache.uri !== undefined) nonEmptyString('httpCache.uri', cache.uri);
  return cache;
}

function httpUrl(path: string, value: unknown): string {
  const text = nonEmptyString(path, value);
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new OptionError(path, 'an http(s) URL', '(not an http URL)');
  return text;
}

function fn<T>(path: string, value: T): T {
  if (typeof value !== 'function') throw new OptionError(path, 'a function', typeof value);
  return value;
}

function positiveInt(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new OptionError(path, 'an integer >= 1', value);
  return value;
}

function nonNegativeInt(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new OptionError(path, 'an integer >= 0', value);
  return value;
}

function positive(path: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) throw new OptionError(path, 'a number > 0', value);
  return value;
}

/** A lone string would otherwise be read character by character. */
function startList(value: unknown): Array<string | RequestInit> | undefined {
  if (value === undefined || Array.isArray(value)) return value;
  throw new OptionError('start', 'an array of URLs or requests (wrap a single URL in [ ])', value);
}

function nonNegative(path: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
    throw new OptionError(path, 'a finite number >= 0', value);
  return value;
}

/** A count or duration limit: Infinity means none. */
function limit(path: string, value: unknown, min = 1): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
    throw new OptionError(path, `an integer >= ${min} or Infinity`, value);
  return value;
}

function bool(path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new OptionError(path, 'a boolean', value);
  return value;
}

function nonEmptyString(path: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new OptionError(path, 'a non-empty string', value);
  return value;
}
