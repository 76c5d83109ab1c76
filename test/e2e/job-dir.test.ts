import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type DemoSite, startDemoSite } from '../../src/demo/site.js';
import { crawl } from '../../src/pipeline/crawl.js';
import { JobDir, jobExists } from '../../src/pipeline/job-dir.js';
import type { Page, Spider } from '../../src/spider.js';
import { MemorySink } from '../../src/storage/memory.js';
import { records } from '../helpers/records.js';
import type { CrawlRequest } from '../../src/types.js';
import { crawlRequest } from '../helpers/fetcher.js';
import { type TestServer, treeSite } from '../helpers/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-job-'));
  dirs.push(dir);
  return dir;
}

const request = (url: string, extra: Partial<CrawlRequest> = {}): CrawlRequest =>
  crawlRequest(url, { fingerprint: `fp-${url}`, ...extra });

describe('JobDir log', () => {
  it('replays queued minus done, ignores a line cut short by a crash, and compacts on open', async () => {
    const dir = tempDir();
    const job = new JobDir(dir);
    expect(jobExists(dir)).toBe(false);
    expect(await job.open()).toEqual({ pending: [], seenFingerprints: [], seenKeys: [] });
    for (const url of ['http://a/1', 'http://a/2', 'http://a/3']) job.queued(request(url));
    job.queued(request('http://a/1', { dontFilter: true, attempts: 2, notBefore: Date.now() + 1000 }));
    await job.done(['fp-http://a/1', 'fp-http://a/3']);
    await job.close();
    appendFileSync(join(dir, 'frontier.log'), '+{"url":"http://a/4","meth');

    const again = new JobDir(dir);
    const restored = await again.open();
    await again.close();
    expect(restored.pending.map((r) => [r.url, r.dontFilter, r.attempts, r.notBefore])).toEqual([
      ['http://a/2', false, 0, undefined],
      ['http://a/1', true, 0, undefined],
    ]);
    expect(restored.seenFingerprints.sort()).toEqual(['fp-http://a/1', 'fp-http://a/2', 'fp-http://a/3']);
    // Compacted on open: the done requests and the torn line are gone, the seen set stays.
    const log = readFileSync(join(dir, 'frontier.log'), 'utf8');
    expect(log).not.toContain('http://a/4');
    expect(log.split('\n').filter((l) => l.startsWith('-'))).toEqual([]);
    const third = new JobDir(dir);
    const twice = await third.open();
    await third.close();
    expect(twice.pending.map((r) => r.url)).toEqual(['http://a/2', 'http://a/1']);
    expect(twice.seenFingerprints.sort()).toEqual(restored.seenFingerprints.sort());
  });

  it('compacts a grown log in place: done records go, pending and seen stay', async () => {
    const dir = tempDir();
    const job = new JobDir(dir, 10_000);
    await job.open();
    const all = Array.from({ length: 500 }, (_, i) => request(`http://a/${i}`));
    for (const r of all) job.queued(r);
    await job.done(all.slice(0, 450).map((r) => r.fingerprint));
    const before = readFileSync(join(dir, 'frontier.log'), 'utf8').length;
    const pending = all.slice(450);
    const seen = ['00000000000000aa', '00000000000000bb'];
    await job.maybeCompact({ pending: () => pending, seenKeys: () => seen });
    job.queued(request('http://a/new'));
    await job.close();
    const after = readFileSync(join(dir, 'frontier.log'), 'utf8');
    expect(after.length).toBeLessThan(before / 4);
    const restored = await new JobDir(dir).open();
    expect(restored.pending.map((r) => r.url)).toEqual([...pending.map((r) => r.url), 'http://a/new']);
    expect(restored.seenKeys).toEqual(seen);
  });
});

describe('JobDir lock', () => {
  it('refuses a second open while the first holds the directory, and allows it after close', async () => {
    const dir = tempDir();
    const first = new JobDir(dir);
    await first.open();
    const second = new JobDir(dir);
    await expect(second.open()).rejects.toThrow(`job directory ${dir} is in use by process ${process.pid}`);
    first.queued(request('http://a.test/1'));
    await first.close();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    const restored = await second.open();
    expect(restored.pending.map((r) => r.url)).toEqual(['http://a.test/1']);
    await second.close();
  });

  it('refuses a directory locked by another running process', async () => {
    const dir = tempDir();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    closers.push(async () => {
      other.kill('SIGKILL');
    });
    writeFileSync(join(dir, 'lock'), `${other.pid}\n`);
    await expect(new JobDir(dir).open()).rejects.toMatchObject({
      code: 'TRAWL_ERR_JOB_DIR',
      message: expect.stringContaining(`in use by process ${other.pid}`),
    });
    // Refusing must not have removed the other crawl's lock.
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(`${other.pid}\n`);
  });

  it('takes over a lock left by a process that no longer runs (kill -9)', async () => {
    const dir = tempDir();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    writeFileSync(join(dir, 'lock'), `${gone.stdout}\n`);
    const job = new JobDir(dir);
    await job.open();
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(`${process.pid}\n`);
    await job.close();
  });

  it('a crawl on a directory another crawl is using fails with a clear error', async () => {
    const server: TestServer = await treeSite(7);
    closers.push(() => server.close());
    const dir = tempDir();
    const holder = new JobDir(dir);
    await holder.open();
    closers.push(() => holder.close());
    const spider = { name: 'tree', parse: () => [] } as unknown as Spider;
    const job = crawl(spider, { start: [`${server.origin}/n/0`], jobDir: dir, workers: 0 });
    await expect(job.pipeTo(new MemorySink())).rejects.toThrow(/is in use by process/);
  });
});

describe('resume with a job directory', () => {
  const spider = {
    name: 'tree',
    *parse(page: Page) {
      yield { id: Number(page.$('h1').text()) };
      yield* page.followAll('a');
    },
  } as Spider;

  it('continues a stopped crawl where it was, without fetching a page twice', async () => {
    const server: TestServer = await treeSite(63);
    closers.push(() => server.close());
    const dir = join(tempDir(), 'job');
    const start = [`${server.origin}/n/0`];
    const first = new MemorySink();
    const a = await crawl(spider, { start, jobDir: dir, maxPages: 20, workers: 0 }).pipeTo(first);
    expect(a.stopReason).toBe('maxPages');
    const second = new MemorySink();
    const b = await crawl(spider, { start, jobDir: dir, workers: 0 }).pipeTo(second);
    expect(b.stopReason).toBe('finished');
    expect(b.restored).toBeGreaterThan(0);
    const ids = [...first.items, ...second.items].map((x) => x.id as number).sort((x, y) => x - y);
    expect(ids).toEqual(Array.from({ length: 63 }, (_, i) => i));
  });

  it('after kill -9 of a CLI crawl of the demo shop, a resume delivers every book; duplicates stay within the pages in flight', async () => {
    const site: DemoSite = await startDemoSite({ books: 300, latencyMs: 15 });
    closers.push(() => site.close());
    const dir = tempDir();
    const out = join(dir, 'books.jsonl');
    const concurrency = 4;
    const workers = 1;
    const args = [
      join(root, 'dist/cli/main.js'),
      'crawl',
      join(root, 'spiders/books.ts'),
      '--start',
      site.url,
      '-o',
      out,
      '--job-dir',
      join(dir, 'job'),
      '--concurrency',
      String(concurrency),
      '--per-host-concurrency',
      String(concurrency),
      '--workers',
      String(workers),
      '--no-progress',
      '--log-level',
      'error',
    ];
    const first = spawn(process.execPath, args, { cwd: root, stdio: 'ignore' });
    const count = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 1 : 0);
    const deadline = Date.now() + 60_000;
    while (count() < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    first.kill('SIGKILL');
    await new Promise((resolve) => first.on('exit', resolve));
    const atKill = count();
    expect(atKill).toBeGreaterThanOrEqual(100);
    expect(atKill).toBeLessThan(300);

    const second = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    second.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => second.kill('SIGKILL'), 90_000);
    const code = await new Promise((resolve) => second.on('exit', resolve));
    clearTimeout(timer);
    expect(code, err).toBe(0);

    const items = readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { url: string; upc: string });
    const expected = new Set(site.books.map((b) => b.upc));
    const got = new Set(items.map((x) => x.upc));
    expect([...expected].filter((upc) => !got.has(upc))).toEqual([]);
    const duplicates = items.length - got.size;
    // Pages in flight at the kill: fetching (concurrency) plus fetched and waiting to be parsed.
    const inFlight = concurrency + workers * 2;
    expect(duplicates).toBeLessThanOrEqual(inFlight);
  });

  it('appends to the output on resume rather than truncating it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'out.jsonl'), '{"kept":1}\n{"torn":');
    const { sinkFromUri } = await import('../../src/storage/uri.js');
    const sink = sinkFromUri(join(dir, 'out.jsonl'), { append: true });
    await sink.open?.();
    await sink.write(records([{ added: 2 }]));
    await sink.close();
    expect(readFileSync(join(dir, 'out.jsonl'), 'utf8')).toBe('{"kept":1}\n{"added":2}\n');
    expect(() => sinkFromUri(join(dir, 'out.csv'), { append: true })).toThrow(/cannot be appended/);
  });
});
