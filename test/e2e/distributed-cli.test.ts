import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteSharedCrawl, type SharedCrawlStatus } from '../../src/pipeline/crawl-status.js';
import { type ProcessResult, runProcess } from '../helpers/run-process.js';
import { treeSite } from '../helpers/server.js';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('REDIS_URL is not set: skipping the trawl status/reset tests');
const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const spider = 'test/fixtures/tree-spider.ts';

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function trawl(args: string[]): Promise<ProcessResult> {
  return runProcess(process.execPath, [cli, ...args], { cwd: root, timeoutMs: 60_000 });
}

async function workspace(): Promise<{ id: string; dir: string }> {
  const id = `cli-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const dir = await mkdtemp(join(tmpdir(), 'trawl-status-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  closers.push(() => deleteSharedCrawl(REDIS_URL!, id));
  return { id, dir };
}

describe('trawl crawl --redis', () => {
  it('with Redis unreachable at the start: one clear line, exit 1', async () => {
    const run = await trawl([
      'crawl',
      spider,
      '--redis',
      'redis://127.0.0.1:1',
      '--crawl-id',
      'nowhere',
      '--no-progress',
    ]);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^trawl: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  });
});

describe.skipIf(!REDIS_URL)('trawl status and trawl reset', () => {
  it('status shows a running crawl, then the finished one; reset refuses while it runs, then deletes it', async () => {
    const site = await treeSite(255, { delayMs: 20 });
    closers.push(() => site.close());
    const { id, dir } = await workspace();
    const target = ['--redis', REDIS_URL!, '--crawl-id', id];
    const out = join(dir, 'items.jsonl');
    const args = ['crawl', spider, ...target, '--start', `${site.origin}/n/0`, '-o', out, '--no-progress'];
    args.push('--per-host-concurrency', '2');
    const crawlRun = runProcess(process.execPath, [cli, ...args], { cwd: root, timeoutMs: 60_000 });

    let running: SharedCrawlStatus | undefined;
    for (let i = 0; i < 100 && !running; i++) {
      const polled = await trawl(['status', ...target, '--json']);
      const status = polled.code === 0 ? (JSON.parse(polled.stdout) as SharedCrawlStatus) : undefined;
      if (status?.state === 'running' && status.done > 0) running = status;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(running).toBeDefined();
    expect(running!.processes).toHaveLength(1);
    expect(running!.processes[0]).toMatchObject({ state: 'running', alive: true });
    expect(running!.hosts[0]!.origin).toBe(site.origin);
    const refused = await trawl(['reset', ...target]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is running \(1 process\(es\).*pass --force/);

    expect((await crawlRun).code).toBe(0);
    const finished = await trawl(['status', ...target, '--json']);
    expect(finished.code).toBe(0);
    // The leaves link to 256 pages past the end of the tree: 404s, done as failed.
    expect(JSON.parse(finished.stdout)).toMatchObject({
      state: 'finished',
      queued: 0,
      leased: 0,
      done: 511,
      items: 255,
      pages: 255,
      failed: 256,
      processes: [{ state: 'finished', alive: false, held: 0, pages: 255 }],
    });
    const text = await trawl(['status', ...target]);
    expect(text.stdout).toMatch(new RegExp(`^crawl ${id}: finished, started `));
    expect(text.stdout).toMatch(/done 511 +failed 256 +items 255/);
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(255);

    const reset = await trawl(['reset', ...target]);
    expect(reset.code).toBe(0);
    expect(reset.stderr).toMatch(new RegExp(`deleted crawl ${id} \\(\\d+ keys\\)`));
    const gone = await trawl(['status', ...target]);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe(`trawl: no crawl ${id} in this Redis`);
  });

  it('status --watch prints a refresh every interval and ends on SIGINT', async () => {
    const { id } = await workspace();
    const site = await treeSite(7);
    closers.push(() => site.close());
    const target = ['--redis', REDIS_URL!, '--crawl-id', id];
    const crawled = await trawl([
      'crawl',
      spider,
      ...target,
      '--start',
      `${site.origin}/n/0`,
      '--no-progress',
    ]);
    expect(crawled.code).toBe(0);
    const child = spawn(process.execPath, [cli, 'status', ...target, '--watch', '0.2', '--json'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    // Interrupted once it is watching (the SIGINT handler is set before the first line).
    for (let i = 0; i < 200 && !stdout; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.at(-1)).toMatchObject({ state: 'finished', done: 15, items: 7, recentPagesPerSecond: 0 });
  });

  it('a bad crawl id is a usage error', async () => {
    const run = await trawl(['status', '--redis', REDIS_URL!, '--crawl-id', 'a b']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/crawlId/);
  });
});
