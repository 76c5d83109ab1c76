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

/** Settings a spider may declare; the same keys can be overridden per crawl. */
export interface CrawlSettings {
  /** Fetches in flight across all hosts. @default 16 */
  concurrency?: number;
  /** Default per-origin limit. */
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
  /** @default 'trawl/<version> (+https://github.com/trawl)' */
  userAgent?: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** Kill and replace a worker whose callback runs longer than this on one page. @default 30_000 */
  parseTimeoutMs?: number;
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
  /** Stops the crawl when aborted. */
  signal?: AbortSignal;
  /**
   * Directory where the frontier and the seen set are kept as the crawl runs; a crawl started with
   * the same directory resumes. Nothing is written to disk unless this is set. @default undefined
   */
  jobDir?: string;
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
  start: Array<string | RequestInit> | undefined;
  workers: number;
  workerHeapMb: number | undefined;
  itemBuffer: number;
  signal: AbortSignal | undefined;
  jobDir: string | undefined;
}

export const DEFAULT_USER_AGENT = 'trawl/0.1 (+https://www.npmjs.com/package/trawl)';

export const DEFAULTS = {
  concurrency: 16,
  perHost: { concurrency: 2, delayMs: 0, jitterMs: 0 },
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
  'start',
  'workers',
  'workerHeapMb',
  'itemBuffer',
  'signal',
  'jobDir',
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
    start: merged.start?.map((u, i) =>
      typeof u === 'string'
        ? nonEmptyString(`start[${i}]`, u)
        : { ...u, url: nonEmptyString(`start[${i}].url`, u?.url) },
    ),
    workers: nonNegativeInt('workers', options.workers ?? defaultWorkers()),
    workerHeapMb:
      options.workerHeapMb === undefined ? undefined : positiveInt('workerHeapMb', options.workerHeapMb),
    itemBuffer: positiveInt('itemBuffer', options.itemBuffer ?? DEFAULTS.itemBuffer),
    signal: options.signal,
    jobDir: options.jobDir === undefined ? undefined : nonEmptyString('jobDir', options.jobDir),
  };
  return resolved;
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
