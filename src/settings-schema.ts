/**
 * The valibot schema of every setting: each key's type, default and check. The interfaces that
 * editors show are in options.ts (a type-level test keeps them equal to these schemas' types),
 * and the README's settings table is generated from both (`npm run docs:settings`).
 */
import { isIP } from 'node:net';
import * as v from 'valibot';
import {
  bool,
  documented,
  kind,
  limit,
  list,
  nonEmptyString,
  nonNegative,
  nonNegativeInt,
  oneOf,
  positive,
  positiveInt,
  record,
  statusList,
  strict,
} from './option-schema.js';
import { renderSchema, requestSchema } from './request-init.js';

export const DEFAULT_USER_AGENT = 'trawl/0.1 (+https://www.npmjs.com/package/trawl)';

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

const isIpOrRange = (entry: unknown) => {
  if (typeof entry !== 'string') return false;
  const [address = '', prefix, extra] = entry.split('/');
  return isIP(address) !== 0 && extra === undefined && (prefix === undefined || /^\d{1,3}$/.test(prefix));
};

const isHttpUrl = (value: unknown) => {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
};

const hostLimit = strict({
  concurrency: v.optional(positiveInt(), 8),
  delayMs: v.optional(nonNegative(), 0),
  jitterMs: v.optional(nonNegative(), 0),
});

const hostRule = strict({
  match: kind<string | RegExp>('a string or RegExp', (x) => typeof x === 'string' || x instanceof RegExp),
  concurrency: documented(v.optional(positiveInt()), 'perHost.concurrency'),
  delayMs: documented(v.optional(nonNegative()), 'perHost.delayMs'),
  jitterMs: documented(v.optional(nonNegative()), 'perHost.jitterMs'),
});

export const adaptiveThrottle = strict({
  minBackoffGapMs: v.optional(positive(), 250),
  maxGapMs: v.optional(positive(), 15_000),
  latencyFactor: v.optional(positive(), 4),
  latencyFloorMs: v.optional(positive(), 250),
  recoverAfter: v.optional(positive(), 8),
});

const httpCache = strict({
  uri: v.optional(nonEmptyString()),
  keyv: v.optional(
    kind<import('keyv').default>('a Keyv instance', (x) => typeof x === 'object' && x !== null, {
      showType: true,
    }),
  ),
  ttlMs: v.optional(positive(), Number.POSITIVE_INFINITY),
});

export const distributed = strict({
  redis: kind<string>(
    'a redis:// or rediss:// URL',
    (x) => typeof x === 'string' && /^rediss?:\/\/./.test(x),
    { secret: true },
  ),
  crawlId: kind<string>(
    'a name of letters, digits, . _ : -',
    (x) => typeof x === 'string' && /^[\w.:-]{1,200}$/.test(x),
  ),
  leaseMs: v.optional(positive(), 15_000),
  outageMs: v.optional(positive(), 300_000),
});

/** The keys of `CrawlSettings`, in the order the README lists them. */
export const settingsShape = {
  concurrency: v.optional(positiveInt(), 16),
  perHost: v.optional(hostLimit, {}),
  hosts: v.optional(
    list(hostRule, 'an array of host rules { match, concurrency?, delayMs?, jitterMs? }'),
    [],
  ),
  maxPages: v.optional(limit(), Number.POSITIVE_INFINITY),
  maxItems: v.optional(limit(), Number.POSITIVE_INFINITY),
  maxDepth: v.optional(limit(0), Number.POSITIVE_INFINITY),
  timeLimitMs: v.optional(limit(), Number.POSITIVE_INFINITY),
  allowedHosts: documented(
    v.optional(list(nonEmptyString(), 'an array of hostnames')),
    'the hosts of the start URLs',
  ),
  followOtherHosts: v.optional(bool(), false),
  retries: v.optional(nonNegativeInt(), 3),
  timeouts: v.optional(
    strict({
      connectMs: v.optional(positive(), 10_000),
      headersMs: v.optional(positive(), 30_000),
      bodyIdleMs: v.optional(positive(), 30_000),
      totalMs: v.optional(positive(), 60_000),
    }),
    {},
  ),
  maxBodyBytes: documented(v.optional(positiveInt(), 10 * 1024 * 1024), '10 MiB'),
  maxRedirects: v.optional(nonNegativeInt(), 10),
  userAgent: v.optional(nonEmptyString(), DEFAULT_USER_AGENT),
  headers: v.optional(
    record(
      kind<string>('a string', (x) => typeof x === 'string'),
      'an object of header names to values',
    ),
    {},
  ),
  parseTimeoutMs: v.optional(positive(), 30_000),
  adaptiveThrottle: v.optional(oneOf([bool(), adaptiveThrottle], 'a boolean or an object'), true),
  backoff: v.optional(
    strict({
      baseMs: v.optional(positive(), 500),
      maxMs: v.optional(positive(), 30_000),
      maxRetryAfterMs: v.optional(nonNegative(), 60_000),
    }),
    {},
  ),
  obeyRobotsTxt: v.optional(bool(), true),
  allowPrivateNetwork: documented(
    v.optional(
      oneOf(
        [bool(), list(kind<string>('an IP address or CIDR range', isIpOrRange), 'a list of addresses')],
        'a boolean or a list of addresses',
      ),
    ),
    'allowed only when a start URL is on such an address',
  ),
  proxy: documented(v.optional(kind<string>('an http(s) URL', isHttpUrl, { secret: true })), 'none'),
  cookies: v.optional(bool(), true),
  acceptStatus: v.optional(statusList(), []),
  httpCache: documented(
    v.optional(oneOf([nonEmptyString(), httpCache], 'a URI string or { uri, keyv, ttlMs }')),
    'off',
  ),
  render: v.optional(renderSchema, false),
  browser: v.optional(
    strict({
      executablePath: documented(v.optional(nonEmptyString()), 'TRAWL_CHROMIUM_PATH, else chromium on PATH'),
      contexts: v.optional(positiveInt(), 2),
      pagesPerContext: v.optional(positiveInt(), 50),
      launchTimeoutMs: v.optional(positive(), 30_000),
    }),
    {},
  ),
  sinks: v.optional(
    strict({
      giveUpAfterMs: v.optional(nonNegative(), 180_000),
      retryBaseMs: v.optional(positive(), 200),
      retryMaxMs: v.optional(positive(), 10_000),
      queueBatches: v.optional(positiveInt(), 4),
      batchSize: v.optional(positiveInt(), 1000),
      fallbackDir: documented(v.optional(nonEmptyString()), 'the job directory, else the working directory'),
    }),
    {},
  ),
};

/** The keys only `crawl()` (and the CLI) take: how this run goes, not what the spider is. */
export const crawlOnlyShape = {
  start: documented(
    v.optional(
      list(
        oneOf([nonEmptyString(), requestSchema], 'a URL or a request { url, ... }'),
        'an array of URLs or requests (wrap a single URL in [ ])',
      ),
    ),
    "the spider's startUrls and start()",
  ),
  workers: documented(v.optional(nonNegativeInt()), 'min(cores, 4)'),
  workerHeapMb: documented(v.optional(positiveInt()), "Node's"),
  itemBuffer: v.optional(positiveInt(), 1000),
  stopGraceMs: v.optional(nonNegative(), 5_000),
  signal: v.optional(
    kind<AbortSignal>(
      'an AbortSignal',
      (x) =>
        typeof x === 'object' &&
        x !== null &&
        typeof (x as AbortSignal).aborted === 'boolean' &&
        typeof (x as AbortSignal).addEventListener === 'function',
      { showType: true },
    ),
  ),
  dnsLookup: documented(
    v.optional(kind<DnsLookup>('a function', (x) => typeof x === 'function', { showType: true })),
    'dns.lookup',
  ),
  jobDir: documented(v.optional(nonEmptyString()), 'none'),
  recrawl: v.optional(
    oneOf([bool(), strict({ olderThanMs: v.optional(nonNegative(), 0) })], 'a boolean or { olderThanMs }'),
    false,
  ),
  distributed: v.optional(distributed),
};

/** What a spider's `settings` may hold. */
export const settingsSchema = strict(settingsShape);

/** What `crawl()` takes: every setting and the crawl-only keys. */
export const crawlOptionsSchema = strict({ ...settingsShape, ...crawlOnlyShape });
