import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemoSite } from '../../src/demo/site.js';
import { crawl } from '../../src/pipeline/crawl.js';
import type { Page, Spider } from '../../src/spider.js';
import { MemorySink } from '../../src/storage/memory.js';
import type { Sink, StoredItem } from '../../src/storage/sink.js';
import type { Item } from '../../src/types.js';
import { type TestServer, treeSite as sharedTreeSite } from '../helpers/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The shared tree site, with `missing` node ids answering 404. */
function treeSite(size: number, options: { delayMs?: number; failOnce?: number[]; missing?: number[] } = {}) {
  const { missing, ...rest } = options;
  return sharedTreeSite(size, {
    ...rest,
    ...(missing ? { failing: new Map(missing.map((i) => [i, 404])) } : {}),
  });
}

/** Follows every link and yields `itemsPerPage` items per page; parses on the main thread. */
function treeSpider(itemsPerPage = 1): Spider {
  return {
    name: 'tree',
    *parse(page: Page) {
      const id = Number(page.$('h1').text());
      for (let k = 0; k < itemsPerPage; k++) yield { id, k, depth: page.request.depth };
      yield* page.followAll('a');
    },
  };
}

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function site(size: number, options?: Parameters<typeof treeSite>[1]) {
  const server = await treeSite(size, options);
  servers.push(server);
  return `${server.origin}/n/0`;
}

class SlowSink implements Sink {
  readonly items: Item[] = [];
  constructor(private readonly perItemMs: number) {}
  async write(batch: readonly StoredItem[]): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.perItemMs * batch.length));
    this.items.push(...batch.map((r) => r.item));
  }
  async close(): Promise<void> {}
}

describe('backpressure', () => {
  it('keeps page and item buffers within their bounds under a 50 ms/item sink and drops nothing', async () => {
    const start = await site(40);
    const sink = new SlowSink(50);
    const job = crawl(treeSpider(2), { start: [start], itemBuffer: 5, concurrency: 4, workers: 0 });
    const stats = await job.pipeTo(sink);
    expect(stats.stopReason).toBe('finished');
    expect(sink.items).toHaveLength(80);
    expect(new Set(sink.items.map((x) => `${String(x.id)}/${String(x.k)}`)).size).toBe(80);
    expect(stats.bounds).toEqual({ inFlight: 4, parseBacklog: 2, itemBacklog: 5 });
    // The peaks are tracked at every hand-off; reaching the bound shows the slow sink pushed back.
    expect(stats.gauges.maxItemBacklog).toBe(5);
    expect(stats.gauges.maxParseBacklog).toBeLessThanOrEqual(stats.bounds.parseBacklog);
    expect(stats.gauges.maxInFlight).toBeLessThanOrEqual(4);
    expect(stats.gauges.itemBacklog).toBe(0);
  });
});

describe('limits', () => {
  it('stops after maxPages with the reason in stats', async () => {
    const start = await site(500);
    const sink = new MemorySink();
    const stats = await crawl(treeSpider(), { start: [start], maxPages: 10, workers: 0 }).pipeTo(sink);
    expect(stats.stopReason).toBe('maxPages');
    expect(stats.pages).toBe(10);
    expect(sink.items).toHaveLength(10);
    expect(stats.gauges.queued).toBeGreaterThan(0);
  });

  it('stops after maxItems with exactly that many items', async () => {
    const start = await site(500);
    const sink = new MemorySink();
    const stats = await crawl(treeSpider(3), { start: [start], maxItems: 7, workers: 0 }).pipeTo(sink);
    expect(stats.stopReason).toBe('maxItems');
    expect(sink.items).toHaveLength(7);
    expect(stats.items).toBe(7);
  });

  it('drops links deeper than maxDepth and reports maxDepth', async () => {
    const start = await site(500);
    const sink = new MemorySink();
    const stats = await crawl(treeSpider(), { start: [start], maxDepth: 3, workers: 0 }).pipeTo(sink);
    expect(stats.stopReason).toBe('maxDepth');
    expect(sink.items).toHaveLength(1 + 2 + 4 + 8);
    expect(Math.max(...sink.items.map((x) => x.depth as number))).toBe(3);
    expect(stats.dropped.depth).toBe(16);
  });

  it('ends at the time limit, letting in-flight pages finish', async () => {
    const start = await site(100_000, { delayMs: 100 });
    const sink = new MemorySink();
    const began = Date.now();
    const stats = await crawl(treeSpider(), { start: [start], timeLimitMs: 600, workers: 0 }).pipeTo(sink);
    expect(stats.stopReason).toBe('timeLimit');
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(sink.items.length).toBe(stats.pages);
    expect(stats.pages).toBeGreaterThan(0);
  });
});

describe('library API', () => {
  it('iterates items and reports scheduled, request, response, retry, item, failure and finished events', async () => {
    const start = await site(15, { failOnce: [3], missing: [5] });
    const job = crawl(treeSpider(), { start: [start], workers: 0 });
    const seen: Record<string, number> = {};
    for (const name of ['scheduled', 'request', 'response', 'retry', 'item', 'failure', 'finished'] as const)
      job.events.on(name, () => {
        seen[name] = (seen[name] ?? 0) + 1;
      });
    const ids: number[] = [];
    for await (const item of job) ids.push(item.id as number);
    const stats = await job.finished;
    expect(ids.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 13, 14]);
    // 404s: /n/5 and the 12 links from leaves past the end of the tree.
    expect(seen).toMatchObject({ retry: 1, item: 12, failure: 13, finished: 1 });
    expect(seen.scheduled).toBe(stats.requests);
    expect(seen.request).toBe(stats.requests);
    // Error statuses are responses too (the 404s and the 503).
    expect(seen.response).toBe(stats.requests);
    expect(stats.responses).toMatchObject({ '2xx': 12, '4xx': 13, '5xx': 1 });
    expect(stats.retries).toBe(1);
    expect(stats.errors).toEqual({ TRAWL_ERR_HTTP_STATUS: 13 });
    expect(stats.bytes).toBeGreaterThan(0);
    expect(stats.rates.pagesPerSecond).toBeGreaterThan(0);
  });

  it('pipes the same stream into two sinks', async () => {
    const start = await site(31);
    const a = new MemorySink();
    const b = new MemorySink();
    const stats = await crawl(treeSpider(), { start: [start], workers: 0 }).pipeTo(a, b);
    expect(a.items).toHaveLength(31);
    expect(b.items).toEqual(a.items);
    expect(a.closed && b.closed).toBe(true);
    expect(stats.items).toBe(31);
  });

  it('stops when the AbortSignal fires', async () => {
    const start = await site(100_000, { delayMs: 20 });
    const controller = new AbortController();
    const job = crawl(treeSpider(), { start: [start], signal: controller.signal, workers: 0 });
    let count = 0;
    for await (const _ of job) if (++count === 5) controller.abort();
    const stats = await job.finished;
    expect(stats.stopReason).toBe('aborted');
    expect(stats.pages).toBeLessThan(200);
  });

  it.each(['break', 'abort'])(
    'leaves no handle open after %s (worker threads, sockets): the process exits on its own',
    async (how) => {
      // The site runs here; the child holds only the crawl, so whatever it leaves open is the crawl's.
      const demo = await startDemoSite({ books: 200, latencyMs: 5 });
      const script = `
        import { crawl } from './dist/index.js';
        const controller = new AbortController();
        const job = crawl('./spiders/books.ts', { start: [process.env.SITE], workers: 2, signal: controller.signal });
        let n = 0;
        for await (const item of job) {
          if (++n < 5) continue;
          if (${JSON.stringify(how)} === 'break') break;
          controller.abort();
        }
        const stats = await job.finished;
        // Closed handles leave the list on a later turn of the loop; give a loaded machine a moment.
        const live = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');
        // A terminated worker's MessagePort can take some milliseconds to go: up to 2 s, polled.
        for (let i = 0; i < 200 && live().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
        const open = live();
        console.log(JSON.stringify({ items: n, stopReason: stats.stopReason, open }));
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: root,
        env: { ...process.env, SITE: demo.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
        child.on('exit', (c, s) => resolve([c, s])),
      );
      clearTimeout(timer);
      await demo.close();
      expect(err).toBe('');
      expect(signal).toBeNull();
      expect(code).toBe(0);
      const report = JSON.parse(out.trim().split('\n').pop()!);
      expect(report.stopReason).toBe('aborted');
      expect(report.open).toEqual([]);
    },
  );
});
