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
