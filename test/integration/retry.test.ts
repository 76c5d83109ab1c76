import { afterEach, describe, expect, it } from 'vitest';
import { isRetryable, retryDelayMs } from '../../src/fetcher/retry.js';
import {
  BlockedAddressError,
  crawl,
  defineSpider,
  type FailureRecord,
  HttpStatusError,
  NetworkError,
  RobotsUnavailableError,
  TimeoutError,
} from '../../src/index.js';
import { recordingServer } from '../helpers/recorder.js';
import { startServer } from '../helpers/server.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const top = () => 0.999999;

describe('retryDelayMs', () => {
  it.each([
    ['attempt 1, top of the jitter', 1, new NetworkError('x'), {}, 499],
    ['attempt 2 doubles the ceiling', 2, new NetworkError('x'), {}, 999],
    ['attempt 4', 4, new NetworkError('x'), {}, 3999],
    ['capped by maxMs', 12, new NetworkError('x'), { maxMs: 5000 }, 4999],
    ['custom base', 3, new TimeoutError('headers', 1), { baseMs: 100 }, 399],
    ['Retry-After seconds', 1, new HttpStatusError(429, 'http://x/', '3'), {}, 3000],
    [
      'Retry-After HTTP date',
      1,
      new HttpStatusError(503, 'http://x/', 'Thu, 01 Jan 2026 00:00:07 GMT'),
      {},
      7000,
    ],
    [
      'Retry-After in the past',
      1,
      new HttpStatusError(503, 'http://x/', 'Wed, 31 Dec 2025 00:00:00 GMT'),
      {},
      0,
    ],
    [
      'Retry-After capped',
      1,
      new HttpStatusError(429, 'http://x/', '3600'),
      { maxRetryAfterMs: 10_000 },
      10_000,
    ],
    [
      'unparseable Retry-After falls back to backoff',
      2,
      new HttpStatusError(429, 'http://x/', 'soon'),
      {},
      999,
    ],
    [
      'robots.txt outage waits until it is due',
      1,
      new RobotsUnavailableError('http://x', 'HTTP 503', 20_000),
      {},
      20_000,
    ],
  ])('%s', (_name, attempt, error, options, expected) => {
    expect(retryDelayMs(attempt, error, { random: top, now: () => NOW, ...options })).toBe(expected);
  });

  it('draws from the whole range (full jitter)', () => {
    expect(retryDelayMs(3, new NetworkError('x'), { random: () => 0 })).toBe(0);
    expect(retryDelayMs(3, new NetworkError('x'), { random: () => 0.5 })).toBe(1000);
  });
});

describe('isRetryable', () => {
  it.each([408, 425, 429, 500, 502, 503, 504])('HTTP %i is retried', (status) => {
    expect(isRetryable(new HttpStatusError(status, 'http://x/'))).toBe(true);
  });
  it.each([400, 401, 403, 404, 410, 451, 501])('HTTP %i is not', (status) => {
    expect(isRetryable(new HttpStatusError(status, 'http://x/'))).toBe(false);
  });
  it('timeouts and connection errors are retried, a refused address is not', () => {
    expect(isRetryable(new TimeoutError('connect', 1))).toBe(true);
    expect(isRetryable(new NetworkError('ECONNRESET'))).toBe(true);
    expect(isRetryable(new BlockedAddressError('x', '10.0.0.1'))).toBe(false);
  });
});

describe('retries in a crawl', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  async function run(startUrls: string[], options: Parameters<typeof crawl>[1] = {}) {
    const failures: FailureRecord[] = [];
    const items: Array<{ url: string }> = [];
    const c = crawl(defineSpider({ name: 'retry', startUrls, parse: (page) => [{ url: page.url }] }), {
      workers: 0,
      obeyRobotsTxt: false,
      adaptiveThrottle: false,
      backoff: { baseMs: 20, maxMs: 100 },
      ...options,
    });
    c.events.on('failure', (f) => failures.push(f));
    for await (const item of c) items.push(item as { url: string });
    return { items, failures, stats: await c.finished };
  }

  it('every request ends fetched or failed with its status or error code and attempts', async () => {
    const tries = new Map<string, number>();
    const server = await startServer((req, res) => {
      const n = (tries.get(req.url!) ?? 0) + 1;
      tries.set(req.url!, n);
      if (req.url === '/flaky' && n < 3) return res.writeHead(503).end();
      if (req.url === '/gone') return res.writeHead(404).end();
      if (req.url === '/forbidden') return res.writeHead(403).end();
      if (req.url === '/broken') return res.writeHead(500).end();
      if (req.url === '/reset') return req.socket.destroy();
      res.writeHead(200, { 'content-type': 'text/html' }).end('ok');
    });
    closers.push(server.close);
    const paths = ['/ok', '/flaky', '/gone', '/forbidden', '/broken', '/reset'];
    const { items, failures, stats } = await run(
      paths.map((p) => `${server.origin}${p}`),
      { retries: 3 },
    );
    expect(items.map((i) => new URL(i.url).pathname).sort()).toEqual(['/flaky', '/ok']);
    const byPath = Object.fromEntries(
      failures.map((f) => [
        new URL(f.url).pathname,
        { status: f.status, code: f.error.code, attempts: f.attempts },
      ]),
    );
    expect(byPath).toEqual({
      '/gone': { status: 404, code: 'TRAWL_ERR_HTTP_STATUS', attempts: 1 },
      '/forbidden': { status: 403, code: 'TRAWL_ERR_HTTP_STATUS', attempts: 1 },
      '/broken': { status: 500, code: 'TRAWL_ERR_HTTP_STATUS', attempts: 4 },
      '/reset': { status: undefined, code: 'TRAWL_ERR_NETWORK', attempts: 4 },
    });
    expect(tries.get('/flaky')).toBe(3);
    expect(stats.pages + stats.failed).toBe(paths.length);
  });

  it('waits out a Retry-After before the next attempt', async () => {
    let first = true;
    const server = await recordingServer('127.0.0.1', (_req, res) => {
      if (first) {
        first = false;
        return res.writeHead(429, { 'retry-after': '1' }).end();
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end('ok');
    });
    closers.push(server.close);
    const { items } = await run([server.url], { retries: 2 });
    expect(items).toHaveLength(1);
    const [a, b] = server.record.starts;
    expect(b! - a!).toBeGreaterThanOrEqual(990);
  });

  it('says in the log when a host asks for a long wait, so a crawl that stands still says why', async () => {
    const server = await recordingServer('127.0.0.1', (req, res) => {
      if (req.url === '/robots.txt') return res.writeHead(404).end();
      res.writeHead(503, { 'retry-after': '40' }).end();
    });
    closers.push(server.close);
    const job = crawl(defineSpider({ name: 'waits', startUrls: [server.url], parse: () => [] }), {
      workers: 0,
      retries: 2,
    });
    const said: string[] = [];
    job.events.on('log', (e) => {
      said.push(e.message);
      if (e.message.includes('asked to wait')) job.abort();
    });
    for await (const _ of job) void _;
    expect(said).toContain(`${new URL(server.url).origin} asked to wait: its requests resume in 40 s`);
  });
});
