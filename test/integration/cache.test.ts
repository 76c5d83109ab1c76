import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpCache } from '../../src/fetcher/cache.js';
import { crawl, defineSpider } from '../../src/index.js';
import { crawlRequest, testFetcher } from '../helpers/fetcher.js';
import { recordingServer } from '../helpers/recorder.js';

let dir: string;
const closers: Array<() => Promise<unknown>> = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trawl-cache-'));
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await rm(dir, { recursive: true, force: true });
});

async function shop() {
  const server = await recordingServer('127.0.0.1', (req, res) => {
    if (req.url === '/robots.txt') return res.writeHead(404).end();
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end('<a href="/a">a</a><a href="/b">b</a><h1>home</h1>');
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=windows-1251' });
    res.end(
      Buffer.from([0x3c, 0x68, 0x31, 0x3e, 0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2, 0x3c, 0x2f, 0x68, 0x31, 0x3e]),
    );
  });
  closers.push(server.close);
  return server;
}

async function run(start: string, httpCache: string | undefined) {
  const spider = defineSpider({
    name: 'cached',
    startUrls: [start],
    *parse(page) {
      yield { url: page.url, h1: page.$('h1').text() };
      yield* page.followAll('a');
    },
  });
  const items: Array<{ url: string; h1: string }> = [];
  const c = crawl(spider, { workers: 0, ...(httpCache ? { httpCache } : {}) });
  for await (const item of c) items.push(item as { url: string; h1: string });
  return items.sort((x, y) => x.url.localeCompare(y.url));
}

describe('HTTP cache', () => {
  it.each([
    ['SQLite', (d: string) => `sqlite://${join(d, 'cache.sqlite')}`],
    ['a directory', (d: string) => join(d, 'responses')],
  ])('in %s lets a spider re-run without touching the site', async (_name, uri) => {
    const server = await shop();
    const first = await run(server.url, uri(dir));
    const hits = server.record.paths.length;
    expect(first.map((i) => i.h1)).toEqual(['home', 'Привет', 'Привет']);
    const second = await run(server.url, uri(dir));
    expect(second).toEqual(first);
    expect(server.record.paths.length).toBe(hits);
  });

  it('is off by default', async () => {
    const server = await shop();
    await run(server.url, undefined);
    const hits = server.record.paths.length;
    await run(server.url, undefined);
    expect(server.record.paths.length).toBe(hits * 2);
    expect(await readdir(dir)).toEqual([]);
  });

  it('stores only successful bodiless GETs', async () => {
    const server = await recordingServer('127.0.0.1', (req, res) => {
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' }).end('x');
    });
    closers.push(server.close);
    const cache = await HttpCache.open('memory:');
    const fetcher = testFetcher({ cache });
    closers.push(() => fetcher.close());
    for (let i = 0; i < 2; i++) {
      await fetcher.fetch(crawlRequest(`${server.origin}/page`));
      await fetcher.fetch(crawlRequest(`${server.origin}/form`, { method: 'POST', body: 'q=1' }));
      await fetcher.fetch(crawlRequest(`${server.origin}/missing`)).catch(() => undefined);
    }
    expect(server.record.paths).toEqual(['/page', '/form', '/missing', '/form', '/missing']);
    expect((await fetcher.fetch(crawlRequest(`${server.origin}/page`))).fromCache).toBe(true);
  });
});
