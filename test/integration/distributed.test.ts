import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { crawl } from '../../src/pipeline/crawl.js';
import { deleteSharedCrawl } from '../../src/pipeline/crawl-status.js';
import type { Page, Spider } from '../../src/spider.js';
import { MemorySink } from '../../src/storage/memory.js';
import { startServer, type TestServer, treeSite } from '../helpers/server.js';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('REDIS_URL is not set: skipping the distributed crawl tests');
const root = fileURLToPath(new URL('../..', import.meta.url));

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function crawlId(): string {
  const id = `test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  closers.push(() => deleteSharedCrawl(REDIS_URL!, id));
  return id;
}

const tree = {
  name: 'tree',
  *parse(page: Page) {
    yield { id: Number(page.$('h1').text()) };
    yield* page.followAll('a');
  },
} as Spider;

const ids = (items: Array<Record<string, unknown>>) => items.map((x) => x.id as number).sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe.skipIf(!REDIS_URL)('distributed crawl on Redis', () => {
  it('two processes on one crawl id share the work: every page once, both end when it is all done', async () => {
    // Pages slow enough that the process started second finds work left: at 5 ms the first took
    // up to 116 of the 127 before the second was running.
    const site: TestServer = await treeSite(127, { delayMs: 25 });
    closers.push(() => site.close());
    const distributed = { redis: REDIS_URL!, crawlId: crawlId() };
    const options = { start: [`${site.origin}/n/0`], workers: 0, concurrency: 4, distributed };
    const a = new MemorySink();
    const b = new MemorySink();
    const [statsA, statsB] = await Promise.all([
      crawl(tree, options).pipeTo(a),
      crawl(tree, options).pipeTo(b),
    ]);
    expect(statsA.stopReason).toBe('finished');
    expect(statsB.stopReason).toBe('finished');
    expect(ids([...a.items, ...b.items])).toEqual(range(127));
    // Both took part.
    expect(a.items.length).toBeGreaterThan(10);
    expect(b.items.length).toBeGreaterThan(10);
    // A crawl id that is finished has nothing left: a third process adds its seed as a duplicate and ends.
    const c = new MemorySink();
    const statsC = await crawl(tree, options).pipeTo(c);
    expect(statsC.pages).toBe(0);
    expect(c.items).toEqual([]);
  });

  it('shares one cookie session: pages behind a login another process did are fetched with its cookie', async () => {
    const PAGES = 40;
    const refused: string[] = [];
    const site = await startServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/robots.txt') return res.end('');
      if (url === '/login') {
        res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'session=s1; Path=/; HttpOnly' });
        return res.end(Array.from({ length: PAGES }, (_, i) => `<a href="/p/${i}">${i}</a>`).join(''));
      }
      if (req.headers.cookie !== 'session=s1') {
        refused.push(url);
        res.writeHead(403);
        return res.end();
      }
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<h1>${url.slice(3)}</h1>`);
      }, 20);
    });
    closers.push(() => site.close());
    const spider = {
      name: 'members',
      // Only the process that runs start() logs in.
      async *start() {
        yield `${site.url}login`;
      },
      *parse(page: Page) {
        yield* page.followAll('a', 'member');
      },
      *member(page: Page) {
        yield { id: Number(page.$('h1').text()) };
      },
    } as Spider;
    const distributed = { redis: REDIS_URL!, crawlId: crawlId() };
    const options = { workers: 0, concurrency: 2, retries: 0, distributed };
    const sinks = [new MemorySink(), new MemorySink(), new MemorySink()];
    const stats = await Promise.all(sinks.map((sink) => crawl(spider, options).pipeTo(sink)));
    expect(refused).toEqual([]);
    expect(stats.map((s) => s.failed)).toEqual([0, 0, 0]);
    expect(ids(sinks.flatMap((sink) => sink.items))).toEqual(range(PAGES));
    // The pages were spread over the processes, so the ones that did not log in sent the cookie too.
    expect(sinks.filter((sink) => sink.items.length > 0).length).toBeGreaterThan(1);
  });

  it('per-host limits hold across processes: concurrency and gap as the server sees them', async () => {
    let active = 0;
    let maxActive = 0;
    const starts: number[] = [];
    const site = await startServer((req, res) => {
      const m = /^\/n\/(\d+)$/.exec(req.url ?? '');
      const i = m ? Number(m[1]) : -1;
      if (i < 0 || i >= 31) {
        res.writeHead(404).end();
        return;
      }
      starts.push(performance.now());
      active++;
      maxActive = Math.max(maxActive, active);
      setTimeout(() => {
        active--;
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<h1>${i}</h1><a href="/n/${2 * i + 1}">a</a><a href="/n/${2 * i + 2}">b</a>`);
      }, 30);
    });
    closers.push(() => site.close());
    const distributed = { redis: REDIS_URL!, crawlId: crawlId() };
    const options = {
      start: [`${site.origin}/n/0`],
      workers: 0,
      perHost: { concurrency: 2, delayMs: 40 },
      adaptiveThrottle: false,
      distributed,
    };
    const a = new MemorySink();
    const b = new MemorySink();
    await Promise.all([crawl(tree, options).pipeTo(a), crawl(tree, options).pipeTo(b)]);
    expect(ids([...a.items, ...b.items])).toEqual(range(31));
    expect(maxActive).toBeLessThanOrEqual(2);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(40);
  });

  it('when a process is killed (kill -9), another takes over its requests once their lease runs out', async () => {
    const site = await treeSite(255, { delayMs: 20 });
    closers.push(() => site.close());
    const dir = mkdtempSync(join(tmpdir(), 'trawl-dist-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'a.jsonl');
    const id = crawlId();
    const start = `${site.origin}/n/0`;
    const worker = join(root, 'test/fixtures/distributed-worker.mjs');
    const first = spawn(process.execPath, [worker, start, REDIS_URL!, id, out], { stdio: 'ignore' });
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []);
    const deadline = Date.now() + 30_000;
    while (lines().length < 40 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.kill('SIGKILL');
    await new Promise((resolve) => first.on('exit', resolve));
    const before = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(before.length).toBeGreaterThanOrEqual(40);
    expect(before.length).toBeLessThan(255);

    const second = new MemorySink();
    const stats = await crawl(tree, {
      start: [start],
      workers: 0,
      distributed: { redis: REDIS_URL!, crawlId: id, leaseMs: 1000 },
    }).pipeTo(second);
    expect(stats.stopReason).toBe('finished');
    const all = [...before, ...second.items];
    expect([...new Set(ids(all))]).toEqual(range(255));
    // Pages the killed process had fetched but not reported done come again: at most its in-flight
    // fetches (4) and pages waiting to be parsed.
    expect(all.length - 255).toBeLessThanOrEqual(8);
  });

  it('stopping early (maxPages) gives the requests it took back for the others', async () => {
    const site = await treeSite(63);
    closers.push(() => site.close());
    const distributed = { redis: REDIS_URL!, crawlId: crawlId() };
    const options = { start: [`${site.origin}/n/0`], workers: 0, concurrency: 2, distributed };
    const first = new MemorySink();
    const a = await crawl(tree, { ...options, maxPages: 10 }).pipeTo(first);
    expect(a.stopReason).toBe('maxPages');
    const second = new MemorySink();
    const b = await crawl(tree, options).pipeTo(second);
    expect(b.stopReason).toBe('finished');
    expect(ids([...first.items, ...second.items])).toEqual(range(63));
  });

  it('an unreachable Redis fails the crawl with a clear error', async () => {
    const job = crawl(tree, {
      start: ['http://127.0.0.1:9/'],
      workers: 0,
      distributed: { redis: 'redis://127.0.0.1:1', crawlId: 'unreachable' },
    });
    await expect(job.pipeTo(new MemorySink())).rejects.toMatchObject({
      code: 'TRAWL_ERR_SHARED_FRONTIER',
      message: expect.stringContaining('cannot connect to Redis at redis://127.0.0.1:1'),
    });
  });
});

describe('distributed crawl options', () => {
  it('rejects a job directory together with Redis, and a crawl id that is not a plain name', async () => {
    const distributed = { redis: 'redis://127.0.0.1:6379', crawlId: 'x' };
    await expect(
      crawl(tree, { start: ['http://127.0.0.1:9/'], jobDir: '/tmp/x', distributed }).pipeTo(new MemorySink()),
    ).rejects.toMatchObject({ code: 'TRAWL_ERR_OPTION' });
    await expect(
      crawl(tree, {
        start: ['http://127.0.0.1:9/'],
        distributed: { redis: 'redis://127.0.0.1:6379', crawlId: 'a b' },
      }).pipeTo(new MemorySink()),
    ).rejects.toMatchObject({ code: 'TRAWL_ERR_OPTION', message: expect.stringContaining('crawlId') });
  });
});
