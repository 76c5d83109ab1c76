import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSite, startDemoSite } from '../../src/demo/site.js';
import { crawl, defineSpider, type FailureRecord, type Item, MemorySink } from '../../src/index.js';
import { htmlRoutes, startServer, type TestServer } from '../helpers/server.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const booksSpider = fileURLToPath(new URL('../../spiders/books.ts', import.meta.url));

async function collect(iterable: AsyncIterable<Item>): Promise<Item[]> {
  const items: Item[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('the example spider on the demo shop', () => {
  let site: DemoSite;
  beforeAll(async () => {
    site = await startDemoSite();
  });
  afterAll(() => site.close());

  it('yields every book exactly once with the right fields', async () => {
    const job = crawl(booksSpider, { start: [site.url], workers: 2 });
    const failures: FailureRecord[] = [];
    job.events.on('failure', (f) => failures.push(f));
    const items = await collect(job);

    expect(items).toHaveLength(site.books.length);
    const byUpc = new Map(items.map((item) => [item.upc, item]));
    expect(byUpc.size).toBe(site.books.length);
    for (const book of site.books) {
      const item = byUpc.get(book.upc);
      expect(item, `book ${book.id}`).toMatchObject({
        title: book.title,
        price: book.price,
        currency: 'GBP',
        rating: book.rating,
        inStock: book.inStock,
        category: book.category,
      });
      expect(item!.url).toBe(`${site.url}catalogue/${book.slug}_${book.id}/index.html`);
    }
    // The demo shop's three broken links end as recorded 404 failures; nothing else fails.
    expect(failures.map((f) => f.status)).toEqual([404, 404, 404]);
    expect(failures.every((f) => f.callback === 'book' && f.error.code === 'TRAWL_ERR_HTTP_STATUS')).toBe(
      true,
    );
    const stats = await job.finished;
    expect(stats.stopReason).toBe('finished');
    expect(stats.items).toBe(site.books.length);
    // The redirected "next" link was followed once, and no page was fetched twice.
    expect(site.hits.get('/catalogue/page-4')).toBe(1);
    expect([...site.hits.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('frontier rules in a crawl', () => {
  let server: TestServer;
  let other: TestServer;
  const hits = new Map<string, number>();
  const otherHits: string[] = [];

  beforeAll(async () => {
    other = await startServer((req, res) => {
      otherHits.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<title>other</title>');
    }, '127.0.0.2');
    const chain = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`/d${i}`, `<title>d${i}</title><a href="/d${i + 1}">next</a>`]),
    );
    const routes = htmlRoutes({
      '/a': '<title>a</title>',
      '/q': '<title>q</title>',
      ...chain,
    });
    server = await startServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      if (path === '/') {
        const port = new URL(server.url).port;
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          `<title>home</title>
          <a href="/a#section">a with fragment</a><a href="/a">a</a>
          <a href="HTTP://LocalHost:${port}/a">a, other case</a>
          <a href="/q?b=2&a=1">q</a><a href="/q?a=1&b=2#x">q sorted</a>
          <a href="${other.url}x">other host</a>
          <a href="mailto:someone@example.com">mail</a>
          <a href="/d0">chain</a>`,
        );
        return;
      }
      routes(req, res);
    });
  });
  afterAll(async () => {
    await server.close();
    await other.close();
  });

  it('fetches equivalent URLs once, stops at the depth limit and stays on the start host', async () => {
    hits.clear();
    const start = server.url.replace('127.0.0.1', 'localhost');
    const items = await collect(
      crawl(fixture('plain-spider.mjs'), { start: [start], maxDepth: 4, workers: 1 }),
    );
    const titles = items.map((i) => i.title).sort();
    expect(hits.get('/a')).toBe(1);
    expect(hits.get('/q')).toBe(1);
    // depth: / is 0, /d0 is 1, so /d3 is depth 4 and /d4 is never requested.
    expect(titles).toEqual(['a', 'd0', 'd1', 'd2', 'd3', 'home', 'q']);
    expect(hits.has('/d4')).toBe(false);
    expect(Math.max(...items.map((i) => Number(i.depth)))).toBe(4);
    expect(otherHits).toEqual([]);
  });

  it('follows other hosts only when asked', async () => {
    otherHits.length = 0;
    await collect(
      crawl(fixture('plain-spider.mjs'), {
        start: [server.url],
        maxDepth: 1,
        workers: 1,
        followOtherHosts: true,
      }),
    );
    // robots.txt is fetched (and obeyed) by default before the first page of a host.
    expect(otherHits).toEqual(['/robots.txt', '/x']);
  });

  it('runs callbacks in worker threads, not on the main thread', async () => {
    const items = await collect(
      crawl(fixture('plain-spider.mjs'), { start: [server.url], maxDepth: 0, workers: 2 }),
    );
    expect(items).toHaveLength(1);
    expect(items[0]!.isMainThread).toBe(false);
    expect(items[0]!.threadId).toBeGreaterThan(0);
  });

  it('parses an inline spider object on the main thread', async () => {
    const spider = defineSpider({
      name: 'inline',
      startUrls: [server.url],
      settings: { maxDepth: 0 },
      async *parse(page) {
        const { isMainThread } = await import('node:worker_threads');
        yield { title: page.$('title').text(), isMainThread };
      },
    });
    const sink = new MemorySink();
    const stats = await crawl(spider).pipeTo(sink);
    expect(sink.items).toEqual([{ title: 'home', isMainThread: true }]);
    expect(sink.closed).toBe(true);
    expect(stats.pages).toBe(1);
  });
});

describe('spider traps', () => {
  it('a site of ever-deeper relative links ends on its own, without a depth limit', async () => {
    const paths: string[] = [];
    const trap = await startServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<title>trap</title><a href="a/">a</a><a href="b/">b</a>');
    });
    try {
      const job = crawl(fixture('plain-spider.mjs'), { start: [trap.url], workers: 1 });
      const items = await collect(job);
      const stats = await job.finished;
      expect(stats.stopReason).toBe('finished');
      expect(stats.dropped.trap).toBeGreaterThan(0);
      expect(items.length).toBe(paths.filter((p) => p !== '/robots.txt').length);
      expect(items.length).toBeLessThan(200);
      expect(paths.every((p) => p.split('/').filter((s) => s === 'a').length <= 3)).toBe(true);
    } finally {
      await trap.close();
    }
  });
});

describe('faults', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(
      htmlRoutes({
        '/': '<a class="bad" href="/bad1">1</a><a class="bad" href="/bad2">2</a><a class="ok" href="/ok">ok</a>',
        '/ok': '<p>fine</p>',
        '/bad1': '<p>one</p>',
        '/bad2': '<p>two</p>',
      }),
    );
  });
  afterAll(() => server.close());

  it('records a throwing callback with url, callback and message, and goes on', async () => {
    const job = crawl(fixture('throwing-spider.ts'), { start: [server.url], workers: 1 });
    const failures: FailureRecord[] = [];
    job.events.on('failure', (f) => failures.push(f));
    const items = await collect(job);
    expect(items.map((i) => i.url ?? i.partial).sort()).toEqual([
      server.url,
      `${server.url}bad1`,
      `${server.url}bad2`,
      `${server.url}ok`,
    ]);
    expect(failures.map((f) => f.url).sort()).toEqual([`${server.url}bad1`, `${server.url}bad2`]);
    for (const f of failures) {
      expect(f.callback).toBe('explode');
      expect(f.error.message).toBe('callback exploded');
      expect(f.stage).toBe('callback');
    }
    const stats = await job.finished;
    expect(stats.failed).toBe(2);
    expect(stats.stopReason).toBe('finished');
  });

  it('stops the crawl and releases its workers when the loop breaks early', async () => {
    const site = await startDemoSite({ books: 200 });
    try {
      const job = crawl(booksSpider, { start: [site.url], workers: 1 });
      let seen = 0;
      for await (const _ of job) {
        if (++seen === 5) break;
      }
      const stats = await job.finished;
      expect(stats.stopReason).toBe('aborted');
      const served = [...site.hits.values()].reduce((a, b) => a + b, 0);
      await new Promise((r) => setTimeout(r, 300));
      expect([...site.hits.values()].reduce((a, b) => a + b, 0)).toBe(served);
      expect(served).toBeLessThan(200);
    } finally {
      await site.close();
    }
  });
});

describe('crawl() inputs', () => {
  let server: TestServer;
  const paths: string[] = [];
  beforeAll(async () => {
    const routes = htmlRoutes({ '/': '<title>home</title>' });
    server = await startServer((req, res) => {
      paths.push(req.url ?? '');
      routes(req, res);
    });
  });
  afterAll(() => server.close());

  it('rejects a lone start URL string with an error naming the option, before any request', async () => {
    const start = server.url as unknown as string[];
    const expected = {
      code: 'TRAWL_ERR_OPTION',
      path: 'start',
      message: expect.stringContaining('option start: expected an array of URLs or requests'),
    };
    await expect(
      crawl(fixture('plain-spider.mjs'), { start }).pipeTo(new MemorySink()),
    ).rejects.toMatchObject(expected);
    await expect(collect(crawl(fixture('plain-spider.mjs'), { start }))).rejects.toMatchObject(expected);
    expect(paths).toEqual([]);
  });

  it('resolves a relative spider path against the working directory', async () => {
    const path = relative(process.cwd(), fixture('plain-spider.mjs'));
    expect(isAbsolute(path)).toBe(false);
    // Parsed in a worker thread too, which gets the resolved path.
    const items = await collect(crawl(path, { start: [server.url], maxDepth: 0, workers: 1 }));
    expect(items.map((i) => i.title)).toEqual(['home']);

    const missing = crawl('./no-such-spider.ts', { start: [server.url] });
    await expect(missing.pipeTo(new MemorySink())).rejects.toMatchObject({
      code: 'TRAWL_ERR_SPIDER_NOT_FOUND',
      message: `spider module not found: ./no-such-spider.ts (${join(process.cwd(), 'no-such-spider.ts')})`,
    });
  });
});
