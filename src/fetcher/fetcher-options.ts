import type { DnsLookup, HttpCacheOptions, ResolvedOptions, TimeoutOptions } from '../options.js';
import type { HttpCache } from './cache.js';
import type { CookieSession } from './cookies.js';
import type { HostLimits } from './host-limits.js';
import type { RobotsFetchResult } from './robots.js';
import type { PageRenderer } from '../render/renderer.js';
import type { RenderOptions } from '../types.js';

export interface FetcherOptions {
  userAgent: string;
  headers: Record<string, string>;
  timeouts: Required<TimeoutOptions>;
  maxBodyBytes: number;
  maxRedirects: number;
  /** Sockets kept per origin; the per-host limit is what bounds use. @default 16 */
  connectionsPerOrigin?: number;
  /** Called for every redirect hop before it is followed (the crawl's host filters); throw to refuse it. */
  checkRedirect?: (url: string) => void;
  /**
   * The crawl's per-host limits: robots.txt fetches and redirect hops take their turn in them,
   * and every answer feeds their adaptive throttle. Without it the fetcher is not polite.
   */
  hostLimits?: HostLimits;
  /**
   * Where an origin's robots.txt comes from when several processes crawl together: given the
   * fetch, it runs it or hands back the answer another process fetched. @default each fetcher its own
   */
  sharedRobots?: (origin: string, load: () => Promise<RobotsFetchResult>) => Promise<RobotsFetchResult>;
  /** Fetch and obey robots.txt. @default DEFAULTS.obeyRobotsTxt */
  obeyRobotsTxt?: boolean;
  /** Private, loopback, link-local and multicast addresses: see `CrawlSettings.allowPrivateNetwork`. @default false */
  allowPrivateNetwork?: boolean | string[];
  /** @default dns.lookup */
  lookup?: DnsLookup;
  /** HTTP proxy URL. */
  proxy?: string;
  /** Keep a cookie jar. @default DEFAULTS.cookies */
  cookies?: boolean;
  /** The jar to keep cookies in (e.g. one restored from a job directory). @default a new, empty one */
  cookieJar?: CookieSession;
  /**
   * Statuses outside 2xx answered to the caller instead of failing, for requests that do not set
   * their own `acceptStatus`; a redirect status listed is not followed. @default []
   */
  acceptStatus?: readonly number[];
  /** An open response cache; see `Fetcher.create` to open one from options. */
  cache?: HttpCache;
  /** Most Retry-After honoured as a host pause, in ms. @default DEFAULTS.backoff.maxRetryAfterMs */
  maxRetryAfterMs?: number;
  /** Renders the requests that ask for it; closed with the fetcher. */
  renderer?: PageRenderer;
  /** Which requests render, and how, when they do not say. @default false */
  render?: boolean | RenderOptions;
}

export interface CreateFetcherOptions extends Omit<FetcherOptions, 'cache' | 'allowPrivateNetwork'> {
  /** When undefined, private addresses are allowed only if one of `startUrls` is on one. */
  allowPrivateNetwork?: boolean | string[];
  startUrls?: string[];
  httpCache?: string | HttpCacheOptions;
}

/**
 * The fetcher's part of a crawl's resolved settings. What belongs to the caller (host limits,
 * the redirect check, a restored cookie jar, the start URLs) is added by it.
 */
export function fetchSettings(
  options: ResolvedOptions,
): Omit<CreateFetcherOptions, 'hostLimits' | 'checkRedirect' | 'cookieJar' | 'startUrls'> {
  return {
    userAgent: options.userAgent,
    headers: options.headers,
    timeouts: options.timeouts,
    maxBodyBytes: options.maxBodyBytes,
    maxRedirects: options.maxRedirects,
    connectionsPerOrigin: Math.max(
      options.perHost.concurrency,
      ...options.hosts.map((h) => h.concurrency ?? 0),
    ),
    obeyRobotsTxt: options.obeyRobotsTxt,
    render: options.render,
    ...(options.allowPrivateNetwork !== undefined
      ? { allowPrivateNetwork: options.allowPrivateNetwork }
      : {}),
    ...(options.dnsLookup ? { lookup: options.dnsLookup } : {}),
    ...(options.proxy ? { proxy: options.proxy } : {}),
    cookies: options.cookies,
    acceptStatus: options.acceptStatus,
    ...(options.httpCache ? { httpCache: options.httpCache } : {}),
    maxRetryAfterMs: options.backoff.maxRetryAfterMs,
  };
}
