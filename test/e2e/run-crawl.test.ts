import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type TestServer, treeSite } from '../helpers/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(root, 'dist/cli/main.js');
const SPIDER = join(root, 'test/fixtures/tree-spider.ts');

interface Run {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: string | null }>;
}

function trawl(args: string[], timeoutMs = 60_000): Run {
  const child = spawn(process.execPath, [CLI, ...args, '--log-format', 'pretty'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    }),
  );
  return { child, stderr: () => err, exit };
}

function lines(path: string): Array<Record<string, unknown>> {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const servers: TestServer[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
async function serve(...args: Parameters<typeof treeSite>) {
  const server = await treeSite(...args);
  servers.push(server);
  return `${server.origin}/n/0`;
}
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-cli-'));
  dirs.push(dir);
  return dir;
}

describe('trawl crawl: failures and stats files', () => {
  it('records failed requests as JSONL and crawls them again from --start-file', async () => {
    const failing = new Map([
      [4, 404],
      [6, 410],
    ]);
    const start = await serve(31, { failing });
    const dir = tempDir();
    const first = trawl([
      'crawl',
      SPIDER,
      '--start',
      start,
      '-o',
      join(dir, 'items.jsonl'),
      '--failures',
      join(dir, 'failures.jsonl'),
      '--max-depth',
      '3',
      '--no-progress',
      '--log-level',
      'error',
    ]);
    expect((await first.exit).code).toBe(0);
    const failures = lines(join(dir, 'failures.jsonl'));
    const origin = start.replace('/n/0', '');
    expect(failures.sort((a, b) => String(a.url).localeCompare(String(b.url)))).toEqual([
      {
        url: `${origin}/n/4`,
        status: 404,
        error: { code: 'TRAWL_ERR_HTTP_STATUS', message: expect.stringContaining('404') },
        attempts: 1,
        callback: 'node',
      },
      {
        url: `${origin}/n/6`,
        status: 410,
        error: { code: 'TRAWL_ERR_HTTP_STATUS', message: expect.stringContaining('410') },
        attempts: 1,
        callback: 'node',
      },
    ]);
    // 15 pages within depth 3, minus the two failures and their children.
    expect(lines(join(dir, 'items.jsonl'))).toHaveLength(9);

    failing.clear();
    const second = trawl([
      'crawl',
      SPIDER,
      '--start-file',
      join(dir, 'failures.jsonl'),
      '-o',
      join(dir, 'retried.jsonl'),
      '--max-depth',
      '0',
      '--stats-file',
      join(dir, 'stats.json'),
      '--no-progress',
      '--log-level',
      'error',
    ]);
    expect((await second.exit).code).toBe(0);
    expect(
      lines(join(dir, 'retried.jsonl'))
        .map((x) => x.id)
        .sort(),
    ).toEqual([4, 6]);
    const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8'));
    expect(stats).toMatchObject({
      stopReason: 'maxDepth',
      requests: 2,
      pages: 2,
      items: 2,
      failed: 0,
      responses: { '2xx': 2 },
      gauges: { queued: 0, inFlight: 0, parseBacklog: 0, itemBacklog: 0 },
    });
    expect(stats.bytes).toBeGreaterThan(0);
    expect(Object.keys(stats.rates)).toEqual([
      'requestsPerSecond',
      'pagesPerSecond',
      'itemsPerSecond',
      'bytesPerSecond',
    ]);
  });
});

describe('trawl crawl: graceful shutdown', () => {
  it('on SIGINT finishes in-flight pages, flushes output, persists the frontier, prints stats, exits 130', async () => {
    const start = await serve(100_000, { delayMs: 150 });
    const dir = tempDir();
    const out = join(dir, 'items.jsonl');
    const run = trawl([
      'crawl',
      SPIDER,
      '--start',
      start,
      '-o',
      out,
      '--job-dir',
      join(dir, 'job'),
      '--stats-file',
      join(dir, 'stats.json'),
      '--concurrency',
      '4',
      '--per-host-concurrency',
      '4',
      '--no-progress',
      '--log-level',
      'error',
    ]);
    await until(() => lines(out).length >= 8);
    run.child.kill('SIGINT');
    const exit = await run.exit;
    expect(exit.code).toBe(130);
    expect(run.stderr()).toMatch(/interrupt: finishing in-flight work/);
    expect(run.stderr()).toMatch(/stop reason\s+interrupted/);
    const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8'));
    expect(stats.stopReason).toBe('interrupted');
    // Every page fetched was delivered: in-flight pages were let finish, not dropped.
    expect(lines(out)).toHaveLength(stats.pages);
    expect(stats.gauges.inFlight).toBe(0);
    const log = readFileSync(join(dir, 'job', 'frontier.log'), 'utf8');
    expect(log.split('\n').filter((l) => l.startsWith('+')).length).toBeGreaterThan(stats.pages);
  });

  it('exits at once on a second SIGINT even when in-flight requests never finish', async () => {
    const start = await serve(10, { hang: true });
    let requests = 0;
    servers.at(-1)!.server.on('request', () => requests++);
    const run = trawl(['crawl', SPIDER, '--start', start, '--no-progress', '--log-level', 'error']);
    // The first request means the crawl (and its signal handlers) is running.
    await until(() => requests > 0);
    run.child.kill('SIGINT');
    await until(() => run.stderr().includes('interrupt'));
    const began = Date.now();
    run.child.kill('SIGINT');
    const exit = await run.exit;
    expect(exit.code).toBe(130);
    expect(Date.now() - began).toBeLessThan(3_000);
    expect(run.stderr()).toMatch(/second interrupt: exiting now/);
  });

  it('in JSON mode, says so on SIGINT as a JSON record: stderr stays JSON lines', async () => {
    const start = await serve(10, { hang: true });
    let requests = 0;
    servers.at(-1)!.server.on('request', () => requests++);
    const child = spawn(process.execPath, [CLI, 'crawl', SPIDER, '--start', start, '--log-format', 'json'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await until(() => requests > 0);
    child.kill('SIGINT');
    await until(() => err.includes('interrupt'));
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    const records = err
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string });
    expect(records.map((r) => r.msg)).toEqual(
      expect.arrayContaining([
        'interrupt: finishing in-flight work (press Ctrl-C again to exit now)',
        'second interrupt: exiting now',
      ]),
    );
  });
});
