import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRobots, productToken, RobotsCache, type RobotsFetchResult } from '../../src/fetcher/robots.js';
import { crawl, defineSpider, type FailureRecord } from '../../src/index.js';
import type { CrawlOptions } from '../../src/options.js';
import { crawlRequest, testFetcher } from '../helpers/fetcher.js';
import { recordingServer, SERVER_SLACK_MS, smallestGap } from '../helpers/recorder.js';

const UA = 'trawl/0.1 (+https://www.npmjs.com/package/trawl)';

describe('parseRobots', () => {
  const robots = `
# comment
User-agent: *
Disallow: /private
Allow: /private/open
Disallow: /*.pdf$
Crawl-delay: 2

User-agent: othercrawler
Disallow: /

Sitemap: https://example.com/sitemap.xml
Sitemap: https://example.com/news.xml
`;
  const rules = parseRobots(robots, UA);
  it.each([
    ['/', true],
    ['/private', false],
    ['/private/secret', false],
    ['/private/open/page', true],
    ['/docs/a.pdf', false],
    ['/docs/a.pdf?x=1', true],
    ['/robots.txt', true],
  ])('%s allowed: %s', (path, allowed) => {
    expect(rules.isAllowed(`https://example.com${path}`)).toBe(allowed);
  });

  it('keeps Sitemap lines and the Crawl-delay of the group that applies', () => {
    expect(rules.sitemaps).toEqual(['https://example.com/sitemap.xml', 'https://example.com/news.xml']);
    expect(rules.crawlDelayMs).toBe(2000);
  });

  it('prefers the group naming our product token over *, merging groups with the same token', () => {
    const text =
      'User-agent: *\nDisallow: /\n\nUser-agent: Trawl\nDisallow: /a\n\nUser-agent: trawl\nDisallow: /b\n';
    const r = parseRobots(text, UA);
    expect([r.isAllowed('http://x/a'), r.isAllowed('http://x/b'), r.isAllowed('http://x/c')]).toEqual([
      false,
      false,
      true,
    ]);
    expect(productToken(UA)).toBe('trawl');
  });

  it('lets the allow win a tie and an empty Disallow allow everything', () => {
    expect(parseRobots('User-agent: *\nDisallow: /page\nAllow: /page\n', UA).isAllowed('http://x/page')).toBe(
      true,
    );
    expect(parseRobots('User-agent: *\nDisallow:\n', UA).isAllowed('http://x/any')).toBe(true);
  });
});

describe('parseRobots on files as the web writes them (RFC 9309 and what major crawlers accept)', () => {
  it.each([
    [
      'a group named with a version: our product token matches',
      'User-agent: Trawl/2.0\nDisallow: /x',
      '/x',
      false,
    ],
    ['a group for a longer name is not ours', 'User-agent: trawlbot\nDisallow: /x', '/x', true],
    [
      'one group naming several agents, ours among them',
      'User-agent: a\nUser-agent: trawl\nDisallow: /x',
      '/x',
      false,
    ],
    [
      'a rule before any User-agent line belongs to no group',
      'Disallow: /x\nUser-agent: *\nDisallow: /y',
      '/x',
      true,
    ],
    ['an encoded unreserved character in the pattern', 'User-agent: *\nDisallow: /%7Efoo', '/~foo', false],
    ['an encoded unreserved character in the URL', 'User-agent: *\nDisallow: /~bar', '/%7Ebar', false],
    ['escapes compared whatever the case of their hex', 'User-agent: *\nDisallow: /a%2fb', '/a%2Fb', false],
    ['an encoded reserved character is not the character', 'User-agent: *\nDisallow: /a/b', '/a%2Fb', true],
    [
      'a non-ASCII pattern against the URL in its encoded form',
      'User-agent: *\nDisallow: /café',
      '/caf%C3%A9',
      false,
    ],
    ['a byte order mark before the first line', '\uFEFFUser-agent: *\nDisallow: /x', '/x', false],
    ['keys without a colon', 'User-agent *\nDisallow /x', '/x', false],
    ['misspelled keys', 'useragent: *\ndissallow: /x', '/x', false],
    ['paths are case-sensitive', 'User-agent: *\nDisallow: /X', '/x', true],
    ['the longest match wins', 'User-agent: *\nAllow: /a\nDisallow: /a/b', '/a/b/c', false],
    ['$ anchors only at the end of a pattern', 'User-agent: *\nDisallow: /a$\n', '/a/b', true],
    ['* matches any run, also an empty one', 'User-agent: *\nDisallow: /a*b', '/ab', false],
    ['CR line ends', 'User-agent: *\rDisallow: /x\r', '/x', false],
  ])('%s', (_what, text, path, allowed) => {
    expect(parseRobots(text, UA).isAllowed(`https://example.com${path}`)).toBe(allowed);
  });

  it('ignores a Crawl-delay that is not a number', () => {
    expect(parseRobots('User-agent: *\nCrawl-delay: soon\n', UA).crawlDelayMs).toBeUndefined();
    expect(parseRobots('User-agent: *\nCrawl-delay: 0.5\n', UA).crawlDelayMs).toBe(500);
  });
});

describe('RobotsCache', () => {
  it('treats 4xx as allow-all and 5xx as disallow-all until the file is due again', async () => {
    let now = 0;
    const answers: RobotsFetchResult[] = [
      { status: 503, body: '' },
      { error: new Error('ECONNRESET') },
      { status: 404, body: '' },
    ];
    let loads = 0;
    const cache = new RobotsCache({
      userAgent: UA,
      load: async () => answers[loads++]!,
      unavailableMs: 10_000,
      now: () => now,
    });
    expect(await cache.get('http://x')).toMatchObject({ kind: 'unavailable', reason: 'HTTP 503' });
    now += 5000;
    expect(await cache.get('http://x')).toMatchObject({ kind: 'unavailable', reason: 'HTTP 503' });
    expect(loads).toBe(1);
    now += 5000;
    expect(await cache.get('http://x')).toMatchObject({ kind: 'unavailable' });
    now += 10_000;
    const verdict = await cache.get('http://x');
    expect(verdict.kind === 'rules' && verdict.rules.isAllowed('http://x/anything')).toBe(true);
    expect(loads).toBe(3);
  });

  it('does not remember a host that did not answer: the next attempt asks again', async () => {
    let loads = 0;
    const down = new Error('ECONNREFUSED');
    const cache = new RobotsCache({
      userAgent: UA,
      load: async () => (loads++ ? { status: 404, body: '' } : { down }),
    });
    expect(await cache.get('http://x')).toEqual({ kind: 'down', error: down });
    expect((await cache.get('http://x')).kind).toBe('rules');
    expect(loads).toBe(2);
  });

  it('fetches once for many concurrent askers', async () => {
    let loads = 0;
    const cache = new RobotsCache({
      userAgent: UA,
      load: async () => {
        loads++;
        await new Promise((r) => setTimeout(r, 20));
        return { status: 200, body: 'User-agent: *\nDisallow: /x' };
      },
    });
    await Promise.all(Array.from({ length: 10 }, () => cache.get('http://x')));
    expect(loads).toBe(1);
  });
});

describe('robots.txt in a crawl', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  async function site(robots: { status: number; body?: string | Buffer; headers?: Record<string, string> }) {
    const server = await recordingServer('127.0.0.1', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/robots.txt')
        return res
          .writeHead(robots.status, { 'content-type': 'text/plain', ...robots.headers })
          .end(robots.body ?? '');
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>page</p>');
    });
    closers.push(server.close);
    return server;
  }

  async function run(startUrls: string[], options: CrawlOptions = {}) {
    const failures: FailureRecord[] = [];
    const c = crawl(defineSpider({ name: 'robots', startUrls, parse: (page) => [{ url: page.url }] }), {
      workers: 0,
      ...options,
    });
    c.events.on('failure', (f) => failures.push(f));
    const items: unknown[] = [];
    for await (const item of c) items.push(item);
    return { items, failures };
  }

  it('is fetched once per origin and obeyed', async () => {
    const server = await site({ status: 200, body: 'User-agent: *\nDisallow: /private\n' });
    const pages = ['/a', '/b', '/c', '/private/1', '/private/2'].map((p) => `${server.origin}${p}`);
    const { items, failures } = await run(pages, { perHost: { concurrency: 4 } });
    expect(items).toHaveLength(3);
    expect(failures.map((f) => f.error.code)).toEqual(['TRAWL_ERR_ROBOTS', 'TRAWL_ERR_ROBOTS']);
    expect(server.record.paths.filter((p) => p === '/robots.txt')).toHaveLength(1);
    expect(server.record.paths.some((p) => p.startsWith('/private'))).toBe(false);
  });

  it('longer than 512 KiB is obeyed as far as the cap; a gzip bomb too, at its first 512 KiB', async () => {
    const { gzipSync } = await import('node:zlib');
    const long = 'User-agent: *\nDisallow: /private\n' + '# padding\n'.repeat(80_000) + 'Disallow: /late\n';
    const bomb = gzipSync('User-agent: *\nDisallow: /private\n' + ' '.repeat(50 * 1024 * 1024));
    for (const [body, headers] of [
      [long, {}],
      [bomb, { 'content-encoding': 'gzip' }],
    ] as const) {
      const server = await site({ status: 200, body, headers });
      const { items, failures } = await run(
        ['/page', '/late', '/private'].map((p) => `${server.origin}${p}`),
        { retries: 0 },
      );
      // The rule past the cap is not read; the one before it is.
      expect(items).toHaveLength(2);
      expect(failures.map((f) => [new URL(f.url).pathname, f.error.code])).toEqual([
        ['/private', 'TRAWL_ERR_ROBOTS'],
      ]);
    }
  });

  it('behind more than five redirects, or a redirect loop, is unavailable: everything is allowed (RFC 9309 2.3.1.2)', async () => {
    const server = await site({ status: 302, headers: { location: '/robots.txt' } });
    const { items, failures } = await run([`${server.origin}/page`], { retries: 0 });
    expect(failures).toEqual([]);
    expect(items).toHaveLength(1);
  });

  it('on an address the guard refuses fails the page as a blocked address, not as robots.txt unavailable', async () => {
    const server = await site({ status: 200, body: '' });
    const { items, failures } = await run([`${server.origin}/page`], {
      retries: 0,
      allowPrivateNetwork: false,
    });
    expect(items).toEqual([]);
    expect(failures.map((f) => f.error.code)).toEqual(['TRAWL_ERR_BLOCKED_ADDRESS']);
    expect(server.record.paths).toEqual([]);
  });

  it('answered 404 allows everything', async () => {
    const server = await site({ status: 404 });
    const { items } = await run([`${server.origin}/private`]);
    expect(items).toHaveLength(1);
  });

  it('answered 500 disallows the origin and the request ends failed with the reason', async () => {
    const server = await site({ status: 500 });
    const { items, failures } = await run([`${server.origin}/page`], { retries: 0 });
    expect(items).toHaveLength(0);
    expect(failures[0]).toMatchObject({ error: { code: 'TRAWL_ERR_ROBOTS_UNAVAILABLE' }, attempts: 1 });
    expect(server.record.paths).toEqual(['/robots.txt']);
  });

  it('on a host that refuses connections fails its requests fast as network errors naming the host', async () => {
    const closed = await recordingServer('127.0.0.1', () => undefined);
    const origin = closed.origin;
    await closed.close();
    const started = performance.now();
    const { items, failures } = await run([`${origin}/a`, `${origin}/b`]);
    const elapsedMs = performance.now() - started;
    expect(items).toHaveLength(0);
    expect(failures).toHaveLength(2);
    for (const f of failures) {
      expect(f.error.code).toBe('TRAWL_ERR_NETWORK');
      expect(f.error.message).toContain(`${new URL(origin).host} is not answering (robots.txt)`);
      expect(f.error.message).toContain('ECONNREFUSED');
      expect(f.attempts).toBe(4);
    }
    // Default backoff: up to 0.5 + 1 + 2 s of retries, not 30 s robots.txt pauses.
    expect(elapsedMs).toBeLessThan(8000);
  });

  it('Crawl-delay widens the gap between requests', async () => {
    const server = await site({ status: 200, body: 'User-agent: *\nCrawl-delay: 0.3\n' });
    await run(
      ['/1', '/2', '/3', '/4'].map((p) => `${server.origin}${p}`),
      { perHost: { concurrency: 4, delayMs: 0 } },
    );
    expect(server.record.starts).toHaveLength(5);
    expect(smallestGap(server.record.starts.slice(1))).toBeGreaterThanOrEqual(300 - SERVER_SLACK_MS);
  });

  it('can be ignored', async () => {
    const server = await site({ status: 200, body: 'User-agent: *\nDisallow: /\n' });
    const { items } = await run([`${server.origin}/x`], { obeyRobotsTxt: false });
    expect(items).toHaveLength(1);
    expect(server.record.paths).toEqual(['/x']);
  });

  it('keeps Sitemap lines available from the fetcher', async () => {
    const server = await site({ status: 200, body: 'Sitemap: http://127.0.0.1/sitemap.xml\n' });
    const fetcher = testFetcher({ obeyRobotsTxt: true });
    try {
      expect((await fetcher.robotsFor(server.origin))?.sitemaps).toEqual(['http://127.0.0.1/sitemap.xml']);
      await fetcher.fetch(crawlRequest(`${server.origin}/x`));
      expect(server.record.paths.filter((p) => p === '/robots.txt')).toHaveLength(1);
    } finally {
      await fetcher.close();
    }
  });
});
