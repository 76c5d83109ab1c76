import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteSharedCrawl } from '../../src/pipeline/crawl-status.js';
import { startServer, treeSite } from '../helpers/server.js';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('REDIS_URL is not set: skipping the crawl-wide distributed tests');
const root = fileURLToPath(new URL('../..', import.meta.url));
const worker = join(root, 'test/fixtures/distributed-worker.mjs');

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Run {
  code: number | null;
  stats: { stopReason: string; pages: number; items: number };
  endedMs: number;
  stderr: string;
}

/** A crawl id and a directory, both removed after the test. */
function workspace(): { id: string; dir: string; out: string } {
  const id = `test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const dir = mkdtempSync(join(tmpdir(), 'trawl-wide-'));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  closers.push(() => deleteSharedCrawl(REDIS_URL!, id));
  return { id, dir, out: join(dir, 'items.jsonl') };
}

/** One worker process of the crawl, run to its end. */
function runWorker(start: string, id: string, out: string, extra: object = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, start, REDIS_URL!, id, out, JSON.stringify(extra)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '{}';
      resolve({ code, stats: JSON.parse(last || '{}'), endedMs: performance.now(), stderr });
    });
  });
}

const items = (out: string) =>
  existsSync(out)
    ? readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: number; pid: number })
    : [];

describe.skipIf(!REDIS_URL)('a distributed crawl counts its limits for all its processes', () => {
  it('--max-pages: three processes fetch 50 pages between them, not 50 each', async () => {
    let served = 0;
    const site = await treeSite(1023, { delayMs: 10 });
    site.server.on('request', (req) => {
      if (req.url?.startsWith('/n/')) served++;
    });
    closers.push(() => site.close());
    const { id, out } = workspace();
    const runs = await Promise.all(
      [0, 1, 2].map(() => runWorker(`${site.origin}/n/0`, id, out, { maxPages: 50 })),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(runs.map((r) => r.stats.stopReason)).toEqual(['maxPages', 'maxPages', 'maxPages']);
    expect(served).toBe(50);
    expect(items(out)).toHaveLength(50);
    expect(runs.reduce((sum, r) => sum + r.stats.pages, 0)).toBe(50);
  });

  it('--max-items: three processes deliver 40 items between them', async () => {
    const site = await treeSite(1023, { delayMs: 10 });
    closers.push(() => site.close());
    const { id, out } = workspace();
    const runs = await Promise.all(
      [0, 1, 2].map(() => runWorker(`${site.origin}/n/0`, id, out, { maxItems: 40 })),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(items(out)).toHaveLength(40);
    expect(new Set(items(out).map((i) => i.id)).size).toBe(40);
    expect(runs.every((r) => r.stats.stopReason === 'maxItems')).toBe(true);
  });

  it('--time-limit counts from the first process: one that joins later stops with the others', async () => {
    const site = await treeSite(100_000, { delayMs: 50 });
    closers.push(() => site.close());
    const { id, out } = workspace();
    const t0 = performance.now();
    const first = runWorker(`${site.origin}/n/0`, id, out, { timeLimitMs: 3000 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const late = await runWorker(`${site.origin}/n/0`, id, out, { timeLimitMs: 3000 });
    const early = await first;
    expect(early.stats.stopReason).toBe('timeLimit');
    expect(late.stats.stopReason).toBe('timeLimit');
    // The late one had 1.5 s of the 3 s left, plus its start-up and the stop grace of in-flight work.
    expect(late.endedMs - t0).toBeLessThan(early.endedMs - t0 + 1000);
    expect(late.stats.pages).toBeGreaterThan(0);
  });

  it('robots.txt is fetched once per origin for the crawl, and its Crawl-delay holds across processes', async () => {
    let robots = 0;
    const starts: number[] = [];
    const site = await startServer((req, res) => {
      if (req.url === '/robots.txt') {
        robots++;
        res
          .writeHead(200, { 'content-type': 'text/plain' })
          .end('User-agent: *\nCrawl-delay: 0.1\nDisallow: /n/6\n');
        return;
      }
      const i = Number(/^\/n\/(\d+)$/.exec(req.url ?? '')?.[1] ?? -1);
      starts.push(performance.now());
      if (i < 0 || i >= 31) return void res.writeHead(404).end();
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<h1>${i}</h1><a href="/n/${2 * i + 1}">a</a><a href="/n/${2 * i + 2}">b</a>`);
    });
    closers.push(() => site.close());
    const { id, out } = workspace();
    const runs = await Promise.all(
      [0, 1, 2].map(() => runWorker(`${site.origin}/n/0`, id, out, { adaptiveThrottle: false })),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(robots).toBe(1);
    // /n/6 and what hangs below it are disallowed: 31 - (6, 13, 14, 27, 28, 29, 30).
    expect(items(out)).toHaveLength(24);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
  });

  it("a spider's start() runs once per crawl id, not in every process", async () => {
    const site = await treeSite(127, { delayMs: 5 });
    closers.push(() => site.close());
    const { id, dir, out } = workspace();
    const startLog = join(dir, 'start.log');
    const runs = await Promise.all(
      [0, 1, 2].map(() => runWorker(`${site.origin}/n/0`, id, out, { startLog })),
    );
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(readFileSync(startLog, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(
      items(out)
        .map((i) => i.id)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 127 }, (_, i) => i));
  });

  it('a 429 to one process slows every process down on that host', async () => {
    const starts: number[] = [];
    let firstLimited: number | undefined;
    const site = await startServer((req, res) => {
      const i = Number(/^\/n\/(\d+)$/.exec(req.url ?? '')?.[1] ?? -1);
      if (i < 0 || i >= 4000) return void res.writeHead(404).end();
      const n = starts.push(performance.now());
      setTimeout(() => {
        if (n === 40) {
          firstLimited ??= performance.now();
          return void res.writeHead(429).end();
        }
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<h1>${i}</h1><a href="/n/${2 * i + 1}">a</a><a href="/n/${2 * i + 2}">b</a>`);
      }, 20);
    });
    closers.push(() => site.close());
    const { id, out } = workspace();
    await Promise.all(
      [0, 1, 2].map(() =>
        runWorker(`${site.origin}/n/0`, id, out, { obeyRobotsTxt: false, maxPages: 120, timeLimitMs: 8000 }),
      ),
    );
    expect(firstLimited).toBeDefined();
    // Only one process got the 429. Had the others not followed its throttle they would have
    // started a dozen requests in this half second (measured); with it (concurrency halved, a gap
    // of at least 250 ms) about two go out.
    const after = starts.filter((t) => t > firstLimited! + 100 && t <= firstLimited! + 600);
    expect(after.length).toBeLessThanOrEqual(4);
    // The crawl went on after the window, at the throttled pace.
    expect(starts.filter((t) => t > firstLimited! + 600).length).toBeGreaterThan(5);
  });
});
