import { Fetcher } from '../../src/fetcher/fetcher.js';
import type { FetcherOptions } from '../../src/fetcher/fetcher-options.js';
import { DEFAULTS } from '../../src/options.js';
import type { CrawlRequest } from '../../src/types.js';

/** A request as the frontier would hand it over. */
export function crawlRequest(url: string, extra: Partial<CrawlRequest> = {}): CrawlRequest {
  return {
    url,
    method: 'GET',
    callback: 'parse',
    userData: {},
    priority: 0,
    depth: 0,
    dontFilter: false,
    acceptBinary: false,
    fingerprint: url,
    attempts: 0,
    ...extra,
  };
}

/** A fetcher with the crawl defaults, loopback allowed and robots.txt off unless overridden. */
export function testFetcher(options: Partial<FetcherOptions> = {}): Fetcher {
  return new Fetcher({
    userAgent: DEFAULTS.userAgent,
    headers: {},
    timeouts: { ...DEFAULTS.timeouts },
    maxBodyBytes: DEFAULTS.maxBodyBytes,
    maxRedirects: DEFAULTS.maxRedirects,
    allowPrivateNetwork: true,
    obeyRobotsTxt: false,
    ...options,
  });
}
