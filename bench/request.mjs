// A GET request as the frontier hands it to the fetcher, for benchmarks that drive the fetcher alone.
export function crawlRequest(url) {
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
  };
}

/** A fetcher with the crawl defaults (built dist/), as a bench drives it; `options` adds or overrides. */
export async function defaultFetcher(options) {
  const { Fetcher } = await import('../dist/fetcher/fetcher.js');
  const { DEFAULTS } = await import('../dist/options.js');
  return Fetcher.create({
    userAgent: DEFAULTS.userAgent,
    headers: {},
    timeouts: { ...DEFAULTS.timeouts },
    maxBodyBytes: DEFAULTS.maxBodyBytes,
    maxRedirects: DEFAULTS.maxRedirects,
    ...options,
  });
}
