import { afterEach, describe, expect, it } from 'vitest';
import { HostLimits } from '../../src/fetcher/host-limits.js';
import { crawl } from '../../src/index.js';
import type { CrawlOptions } from '../../src/options.js';
import type { Spider } from '../../src/spider.js';
import { recordingServer, SERVER_SLACK_MS, slowHtml, smallestGap } from '../helpers/recorder.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const titleSpider = (startUrls: string[]): Spider => ({
  name: 'titles',
  startUrls,
  parse: (page: { url: string }) => [{ url: page.url, at: performance.now() }],
});

async function run(startUrls: string[], options: CrawlOptions) {
  const c = crawl(titleSpider(startUrls), { workers: 0, retries: 0, ...options });
  const items: Array<{ url: string; at: number }> = [];
  for await (const item of c) items.push(item as { url: string; at: number });
  return { items, stats: await c.finished };
}

describe('per-host limits', () => {
  it('never exceed a host concurrency and never start closer than its gap, per host rule', async () => {
    const a = await recordingServer('127.0.0.1', slowHtml(40));
    const b = await recordingServer('127.0.0.2', slowHtml(40));
    const c = await recordingServer('127.0.0.3', slowHtml(40));
    closers.push(a.close, b.close, c.close);
    const pages = (origin: string, n: number) => Array.from({ length: n }, (_, i) => `${origin}/p${i}`);
    const { items, stats } = await run(
      [...pages(a.origin, 12), ...pages(b.origin, 12), ...pages(c.origin, 8)],
      {
        concurrency: 16,
        perHost: { concurrency: 3, delayMs: 60 },
        hosts: [
          { match: '127.0.0.2', concurrency: 1, delayMs: 100 },
          { match: c.origin, concurrency: 2, delayMs: 80, jitterMs: 40 },
        ],
      },
    );
    expect(stats.failed).toBe(0);
    expect(items).toHaveLength(32);
    // Every request the server saw counts, robots.txt included.
    expect(a.record.starts).toHaveLength(13);
    expect(a.record.maxActive).toBeLessThanOrEqual(3);
    expect(b.record.maxActive).toBe(1);
    expect(c.record.maxActive).toBeLessThanOrEqual(2);
    expect(smallestGap(a.record.starts)).toBeGreaterThanOrEqual(60 - SERVER_SLACK_MS);
    expect(smallestGap(b.record.starts)).toBeGreaterThanOrEqual(100 - SERVER_SLACK_MS);
    expect(smallestGap(c.record.starts)).toBeGreaterThanOrEqual(80 - SERVER_SLACK_MS);
  }, 30_000);

  it('reach the configured concurrency when there is no gap', async () => {
    const a = await recordingServer('127.0.0.1', slowHtml(150));
    closers.push(a.close);
    await run(
      Array.from({ length: 12 }, (_, i) => `${a.origin}/p${i}`),
      { concurrency: 16, perHost: { concurrency: 4 }, obeyRobotsTxt: false },
    );
    expect(a.record.maxActive).toBe(4);
  }, 20_000);
});

describe('no head-of-line blocking', () => {
  it('a host answering in 2 s does not slow a fast host down', async () => {
    const slow = await recordingServer('127.0.0.1', slowHtml(2000));
    const fast = await recordingServer('127.0.0.2', slowHtml(5));
    closers.push(slow.close, fast.close);
    const fastPages = Array.from({ length: 30 }, (_, i) => `${fast.origin}/f${i}`);
    const slowPages = Array.from({ length: 4 }, (_, i) => `${slow.origin}/s${i}`);
    const options: CrawlOptions = { concurrency: 4, perHost: { concurrency: 2 }, adaptiveThrottle: false };

    const t0 = performance.now();
    const alone = await run(fastPages, options);
    const aloneMs = Math.max(...alone.items.map((i) => i.at)) - t0;

    const fastMixed = Array.from({ length: 30 }, (_, i) => `${fast.origin}/m${i}`);
    // Slow pages first, so a scheduler that took global slots for them would have all four taken.
    const t1 = performance.now();
    const mixed = await run([...slowPages, ...fastMixed], options);
    const fastDoneMs =
      Math.max(...mixed.items.filter((i) => i.url.startsWith(fast.origin)).map((i) => i.at)) - t1;

    expect(mixed.items).toHaveLength(34);
    expect(slow.record.maxActive).toBeLessThanOrEqual(2);
    // The fast host finished before the slow host's first answer came back, close to its solo time.
    expect(fastDoneMs).toBeLessThan(1500);
    expect(fastDoneMs).toBeLessThan(aloneMs + 800);
  }, 40_000);
});

describe('adaptive throttling', () => {
  /** 429 whenever more than two requests are in flight. */
  const overloaded = (active: () => number) =>
    slowHtml(0) &&
    ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      if (req.url === '/robots.txt') return res.writeHead(404).end();
      if (active() > 2) return res.writeHead(429, { 'content-type': 'text/plain' }).end('slow down');
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>ok</p>'), 60);
    });

  async function crawlOverloaded(adaptive: boolean) {
    let count429 = 0;
    const server = await recordingServer('127.0.0.1', (req, res, record) => {
      res.on('finish', () => {
        if (res.statusCode === 429) count429++;
      });
      overloaded(() => record.active)(req, res);
    });
    closers.push(server.close);
    const { items, stats } = await run(
      Array.from({ length: 40 }, (_, i) => `${server.origin}/p${i}`),
      {
        perHost: { concurrency: 8 },
        retries: 8,
        backoff: { baseMs: 40, maxMs: 400 },
        adaptiveThrottle: adaptive ? { minBackoffGapMs: 20, recoverAfter: 10 } : false,
      },
    );
    return { items, stats, count429 };
  }

  it('cuts concurrency on 429 so far fewer requests are refused than with it off', async () => {
    const on = await crawlOverloaded(true);
    const off = await crawlOverloaded(false);
    expect(on.items).toHaveLength(40);
    expect(off.count429).toBeGreaterThanOrEqual(20);
    expect(on.count429).toBeLessThan(off.count429 / 2);
  }, 60_000);

  it('lowers a host limit on 429 and restores it after sustained success', () => {
    let now = 0;
    const limits = new HostLimits(
      { concurrency: 8, delayMs: 0, jitterMs: 0 },
      { adaptive: { minBackoffGapMs: 100, recoverAfter: 4 }, now: () => now },
    );
    const origin = 'http://a.test';
    limits.observe(origin, 429, 10);
    expect(limits.limitFor(origin)).toMatchObject({ concurrency: 4, delayMs: 100 });
    now += 1000;
    limits.observe(origin, 503, 10);
    expect(limits.limitFor(origin)).toMatchObject({ concurrency: 2, delayMs: 200 });
    for (let i = 0; i < 200; i++) {
      now += 50;
      limits.observe(origin, 200, 10);
    }
    expect(limits.limitFor(origin)).toEqual({ concurrency: 8, delayMs: 0, jitterMs: 0 });
  });

  it('keeps its concurrency when a few URLs time out among healthy answers, retries included', () => {
    let now = 0;
    const limits = new HostLimits({ concurrency: 8, delayMs: 0, jitterMs: 0 }, { now: () => now });
    const origin = 'http://a.test';
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 6; i++) {
        now += 100;
        limits.observe(origin, 200, 20);
      }
      // Two URLs that never answer, first attempt then each retry.
      limits.observe(origin, 'timeout', 30_000, undefined, round > 0);
      limits.observe(origin, 'timeout', 30_000, undefined, round > 0);
    }
    // At the end only the bad URLs' retries are left; they carry no news about the host.
    for (let i = 0; i < 10; i++) limits.observe(origin, 'timeout', 30_000, undefined, true);
    expect(limits.limitFor(origin)).toEqual({ concurrency: 8, delayMs: 0, jitterMs: 0 });
  });

  it("slows down when most of a host's recent first attempts time out or fail", () => {
    const now = 0;
    const limits = new HostLimits({ concurrency: 8, delayMs: 0, jitterMs: 0 }, { now: () => now });
    const origin = 'http://a.test';
    for (let i = 0; i < 4; i++) limits.observe(origin, 200, 20);
    limits.observe(origin, 'timeout', 30_000);
    limits.observe(origin, 'error', 5);
    expect(limits.limitFor(origin).concurrency).toBe(8);
    limits.observe(origin, 'timeout', 30_000);
    limits.observe(origin, 'timeout', 30_000);
    expect(limits.limitFor(origin).concurrency).toBe(4);
  });

  it('treats latency far above the host baseline as overload', () => {
    let now = 0;
    const limits = new HostLimits({ concurrency: 6, delayMs: 0, jitterMs: 0 }, { now: () => now });
    const origin = 'http://a.test';
    for (let i = 0; i < 5; i++) limits.observe(origin, 200, 20);
    for (let i = 0; i < 10; i++) {
      now += 100;
      limits.observe(origin, 200, 3000);
    }
    expect(limits.limitFor(origin).concurrency).toBeLessThan(6);
    expect(limits.limitFor(origin).delayMs).toBeGreaterThan(0);
  });

  it('can be turned off', () => {
    const limits = new HostLimits({ concurrency: 8, delayMs: 0, jitterMs: 0 }, { adaptive: false });
    limits.observe('http://a.test', 429, 10);
    expect(limits.limitFor('http://a.test').concurrency).toBe(8);
  });

  it('pauses a host for its Retry-After', () => {
    let now = 0;
    const limits = new HostLimits(
      { concurrency: 2, delayMs: 0, jitterMs: 0 },
      { now: () => now, maxPauseMs: 5000 },
    );
    limits.observe('http://a.test', 429, 10, 30_000);
    expect(limits.waitMs('http://a.test')).toBe(5000);
    now += 5000;
    expect(limits.waitMs('http://a.test')).toBe(0);
  });
});
