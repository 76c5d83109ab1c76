import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemoSite } from '../../src/demo/site.js';
import { DATABASE_URL, isolatedTable } from '../helpers/postgres.js';
import { runProcess } from '../helpers/run-process.js';
import { treeSite } from '../helpers/server.js';

if (!DATABASE_URL)
  console.warn('DATABASE_URL is not set: skipping the CLI tests of a failing PostgreSQL output');

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const spider = join(root, 'test/fixtures/fallback-spider.mjs');

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

describe.skipIf(!DATABASE_URL)('trawl crawl with an output that fails for good', () => {
  it('writes its items to a fallback file named on stderr, fills the other outputs, and exits 1', async () => {
    const server = await treeSite(40);
    cleanup.push(() => server.close());
    const table = await isolatedTable();
    cleanup.push(() => table.drop());
    const dir = await mkdtemp(join(tmpdir(), 'trawl-cli-fallback-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await table.admin.query(`REVOKE INSERT ON "${table.name}" FROM "${table.name}"`);
    const pg = new URL(table.url);
    pg.searchParams.set('table', table.name);
    const run = await runProcess(
      process.execPath,
      [
        cli,
        'crawl',
        spider,
        '--start',
        `${server.origin}/n/0`,
        '-o',
        pg.href,
        '-o',
        'items.jsonl',
        '--job-dir',
        'job',
        '--stats-file',
        'stats.json',
        '--no-progress',
      ],
      { cwd: dir, timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(1);
    const fallback = (await readdir(join(dir, 'job'))).filter((f) => f.startsWith('fallback-'));
    expect(fallback).toHaveLength(1);
    expect(run.stderr).toContain(`40 items are in ${join('job', fallback[0]!)}`);
    const lines = (await readFile(join(dir, 'job', fallback[0]!), 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).item.id).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => i),
    );
    expect((await readFile(join(dir, 'items.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(40);
    const stats = JSON.parse(await readFile(join(dir, 'stats.json'), 'utf8'));
    expect(stats).toMatchObject({ stopReason: 'finished', fallbackItems: 40 });
    expect(stats.sinks[0]).toMatchObject({ items: 0, fallbackItems: 40 });
    expect(stats.sinks[0].lastError).toMatch(/permission denied/);
  });

  it('refuses an existing table of another shape before crawling, with exit 2', async () => {
    const table = await isolatedTable();
    cleanup.push(() => table.drop());
    await table.admin.query(`CREATE TABLE "${table.name}_old" (id bigserial PRIMARY KEY, item jsonb)`);
    cleanup.push(() => table.admin.query(`DROP TABLE "${table.name}_old"`));
    const pg = new URL(DATABASE_URL!);
    pg.searchParams.set('table', `${table.name}_old`);
    const run = await runProcess(
      process.execPath,
      [cli, 'crawl', spider, '--start', 'http://127.0.0.1:9/n/0', '-o', pg.href, '--no-progress'],
      { cwd: root, timeoutMs: 60_000 },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/exists with another shape \(id bigint primary key, item jsonb\)/);
  });
});

describe('a JSON output stopped by a signal', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('is a valid array after %s', async (signal) => {
    const site = await startDemoSite({ books: 300, latencyMs: 20 });
    cleanup.push(() => site.close());
    const dir = await mkdtemp(join(tmpdir(), 'trawl-json-signal-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'books.json');
    const child = spawn(
      process.execPath,
      [cli, 'crawl', join(root, 'spiders/books.ts'), '--start', site.url, '-o', out, '--no-progress'],
      { cwd: dir, stdio: 'ignore' },
    );
    const lines = async () => (await readFile(out, 'utf8').catch(() => '')).split('\n').length;
    const deadline = Date.now() + 30_000;
    while ((await lines()) < 20 && Date.now() < deadline) await sleep(20);
    child.kill(signal);
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    const books = JSON.parse(await readFile(out, 'utf8')) as Array<{ upc: string }>;
    expect(books.length).toBeGreaterThanOrEqual(19);
    expect(books.length).toBeLessThan(300);
  });
});

describe('a Parquet output stopped by Ctrl-C', () => {
  it('is a valid file holding every item written before the stop', async () => {
    const site = await startDemoSite({ books: 300, latencyMs: 20 });
    cleanup.push(() => site.close());
    const dir = await mkdtemp(join(tmpdir(), 'trawl-parquet-signal-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'books.parquet');
    const jsonl = join(dir, 'books.jsonl');
    const child = spawn(
      process.execPath,
      [
        cli,
        'crawl',
        join(root, 'spiders/books.ts'),
        '--start',
        site.url,
        '-o',
        `${out}?rowGroupSize=50`,
        '-o',
        jsonl,
        '--no-progress',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    const lines = async () => (await readFile(jsonl, 'utf8').catch(() => '')).split('\n').length;
    const deadline = Date.now() + 30_000;
    while ((await lines()) < 80 && Date.now() < deadline) await sleep(20);
    child.kill('SIGINT');
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(130);
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(out) });
    const written = (await readFile(jsonl, 'utf8')).trim().split('\n');
    expect(rows.length).toBe(written.length);
    expect(rows.map((r) => r.upc).sort()).toEqual(
      written.map((l) => (JSON.parse(l) as { upc: string }).upc).sort(),
    );
  });
});
