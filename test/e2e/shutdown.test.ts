import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type TestServer, treeSite } from '../helpers/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(root, 'dist/cli/main.js');
const SPIDER = join(root, 'test/fixtures/tree-spider.ts');
/** The documented deadline: after SIGINT/SIGTERM the process is gone within 10 s. */
const DEADLINE_MS = 10_000;

interface Run {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; atMs: number }>;
}

function trawl(args: string[]): Run {
  const child = spawn(
    process.execPath,
    [CLI, ...args, '--no-progress', '--log-level', 'error', '--log-format', 'pretty'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const exit = new Promise<{ code: number | null; atMs: number }>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, atMs: performance.now() });
    }),
  );
  return { child, stderr: () => err, exit };
}

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Sends SIGTERM and returns the exit code and how long the process took to go. */
async function terminate(run: Run): Promise<{ code: number | null; ms: number }> {
  const sent = performance.now();
  run.child.kill('SIGTERM');
  const { code, atMs } = await run.exit;
  return { code, ms: atMs - sent };
}

const servers: TestServer[] = [];
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-stop-'));
  dirs.push(dir);
  return dir;
}
async function site(...args: Parameters<typeof treeSite>): Promise<{ start: string; paths: string[] }> {
  const server = await treeSite(...args);
  servers.push(server);
  const paths: string[] = [];
  server.server.on('request', (req) => paths.push(req.url ?? ''));
  return { start: `${server.origin}/n/0`, paths };
}
/** A named pipe: opening it for writing blocks until a reader comes, writing once nobody reads. */
function fifo(dir: string, name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

describe('an output that cannot be created', () => {
  it('fails before the crawl starts, with one line and exit 2', async () => {
    const { start, paths } = await site(3);
    const run = trawl(['crawl', SPIDER, '--start', start, '-o', '/proc/nowhere/items.jsonl']);
    const { code } = await run.exit;
    expect(code).toBe(2);
    expect(run.stderr().trim().split('\n')).toEqual([
      'trawl: cannot create /proc/nowhere/items.jsonl: ENOENT on /proc/nowhere',
    ]);
    expect(paths).toEqual([]);
  });

  it('fails the same way for --failures and --stats-file', async () => {
    const { start, paths } = await site(3);
    for (const flag of ['--failures', '--stats-file']) {
      const run = trawl(['crawl', SPIDER, '--start', start, flag, '/proc/nowhere/x.jsonl']);
      expect((await run.exit).code).toBe(2);
      expect(run.stderr()).toMatch(new RegExp(`^trawl: ${flag} /proc/nowhere/x.jsonl cannot be created`));
    }
    expect(paths).toEqual([]);
  });
});

describe('SIGTERM stops the crawl within the deadline in every state', () => {
  it('while waiting on a robots.txt that never answers', async () => {
    const { start, paths } = await site(10, { hang: true });
    const run = trawl(['crawl', SPIDER, '--start', start, '-o', join(tempDir(), 'items.jsonl')]);
    await until(() => paths.includes('/robots.txt'));
    const { code, ms } = await terminate(run);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(DEADLINE_MS);
    expect(run.stderr()).toMatch(/unfinished\s+1 in flight/);
  }, 30_000);

  it('while every request waits out a retry backoff', async () => {
    const hits: string[] = [];
    const server = await startServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/robots.txt') return void res.writeHead(404).end();
      res.writeHead(503, { 'retry-after': '30' }).end('busy');
    });
    servers.push(server);
    const run = trawl(['crawl', SPIDER, '--start', `${server.origin}/n/0`, '-o', join(tempDir(), 'i.jsonl')]);
    await until(() => hits.includes('/n/0'));
    await new Promise((r) => setTimeout(r, 200));
    const { code, ms } = await terminate(run);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(2000);
    expect(run.stderr()).toMatch(/left queued\s+1 not fetched/);
  }, 30_000);

  it('while opening an output that hangs', async () => {
    const { start, paths } = await site(10);
    const dir = tempDir();
    const run = trawl(['crawl', SPIDER, '--start', start, '-o', fifo(dir, 'items.jsonl')]);
    // Started: its handlers are in place once the spider is loaded; nothing is fetched meanwhile.
    await new Promise((r) => setTimeout(r, 2500));
    const { code, ms } = await terminate(run);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(DEADLINE_MS);
    expect(paths).toEqual([]);
  }, 30_000);

  it('while writing to an output that nobody reads', async () => {
    const { start, paths } = await site(100_000);
    const dir = tempDir();
    const pipe = fifo(dir, 'items.jsonl');
    // A reader that opens the pipe and never reads: writes block once the pipe buffer is full.
    const reader = spawn('sh', ['-c', `exec 3<"${pipe}"; sleep 60`], { stdio: 'ignore' });
    children.push(reader);
    const run = trawl(['crawl', SPIDER, '--start', start, '-o', pipe]);
    // Once the pipe is full the crawl stalls behind its bounded buffers; then it is stopped.
    await until(() => paths.length > 500);
    await new Promise((r) => setTimeout(r, 1500));
    const { code, ms } = await terminate(run);
    expect(code).toBe(130);
    expect(ms).toBeLessThan(DEADLINE_MS);
  }, 40_000);

  it('when writing the output fails, its items go to a fallback file and the crawl exits 1', async () => {
    const { start } = await site(40);
    const dir = tempDir();
    const full = join(dir, 'full.jsonl');
    symlinkSync('/dev/full', full);
    const statsFile = join(dir, 'stats.json');
    const fast = [
      '-s',
      'sinks.giveUpAfterMs=300',
      '-s',
      'sinks.retryBaseMs=20',
      '-s',
      `sinks.fallbackDir=${dir}`,
    ];
    const run = trawl(['crawl', SPIDER, '--start', start, '-o', full, '--stats-file', statsFile, ...fast]);
    const { code } = await run.exit;
    expect(code, run.stderr()).toBe(1);
    expect(run.stderr()).toMatch(/ENOSPC/);
    const fallback = /items are in (\S+)/.exec(run.stderr())?.[1];
    expect(fallback, run.stderr()).toBeDefined();
    const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as { items: number; fallbackItems: number };
    expect(stats.items).toBeGreaterThan(0);
    expect(stats.fallbackItems).toBe(stats.items);
    expect(readFileSync(fallback!, 'utf8').trim().split('\n')).toHaveLength(stats.items);
  }, 30_000);
});

describe('a stop leaves no request without a trace', () => {
  it('counts the requests cancelled in flight as unfinished and a job directory fetches them again', async () => {
    let hang = true;
    let hung: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (hung = resolve));
    const server = await startServer((req, res) => {
      if (req.url === '/robots.txt') return void res.writeHead(404).end();
      if (hang) return void hung();
      res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>0</h1>');
    });
    servers.push(server);
    const dir = tempDir();
    const statsFile = join(dir, 'stats.json');
    const out = join(dir, 'items.jsonl');
    const args = [
      'crawl',
      SPIDER,
      '--start',
      `${server.origin}/n/0`,
      '--job-dir',
      join(dir, 'job'),
      '-o',
      out,
    ];
    const first = trawl([...args, '--stats-file', statsFile]);
    // Stopped once the request is in flight, however long the process took to start.
    await inFlight;
    await new Promise((r) => setTimeout(r, 200));
    const { code } = await terminate(first);
    expect(code).toBe(130);
    expect(JSON.parse(readFileSync(statsFile, 'utf8'))).toMatchObject({
      stopReason: 'interrupted',
      unfinished: 1,
      pages: 0,
    });
    expect(first.stderr()).toMatch(
      /unfinished\s+1 in flight when the crawl stopped; run again with --job-dir/,
    );

    hang = false;
    const second = trawl(args);
    expect((await second.exit).code).toBe(0);
    expect(
      readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual([0]);
  }, 30_000);
});

describe('a page or time limit', () => {
  it.each([
    ['maxPages', { maxPages: 2 }],
    ['timeLimit', { timeLimitMs: 300 }],
  ] as const)(
    '(%s) finishes what it can within the stop grace and counts the rest',
    async (reason, limit) => {
      const { crawl, defineSpider } = await import('../../src/index.js');
      const server = await treeSite(10, { hang: true });
      servers.push(server);
      const spider = defineSpider({ name: 'limits', *parse() {} });
      const started = performance.now();
      const stats = await crawl(spider, {
        start: ['/n/1', '/n/2', '/n/3'].map((p) => `${server.origin}${p}`),
        obeyRobotsTxt: false,
        stopGraceMs: 300,
        ...limit,
      }).pipeTo();
      expect(performance.now() - started).toBeLessThan(3000);
      expect(stats.stopReason).toBe(reason);
      expect(stats.unfinished + stats.gauges.queued).toBe(3);
      expect(stats.unfinished).toBe(reason === 'maxPages' ? 2 : 3);
    },
  );
});
