import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemoSite } from '../../src/demo/site.js';
import { DATABASE_URL, isolatedTable } from '../helpers/postgres.js';

if (!DATABASE_URL) console.warn('DATABASE_URL is not set: skipping the upsert-on-resume test');

const root = fileURLToPath(new URL('../..', import.meta.url));
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

function exited(child: ReturnType<typeof spawn>, timeoutMs: number): Promise<number | null> {
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
}

describe.skipIf(!DATABASE_URL)('a crawl killed with kill -9 and resumed from its job directory', () => {
  it('ends with exactly one PostgreSQL row per item, and a JSON array that parses', async () => {
    const books = 300;
    const site = await startDemoSite({ books, latencyMs: 10 });
    cleanup.push(() => site.close());
    const table = await isolatedTable();
    cleanup.push(() => table.drop());
    const dir = await mkdtemp(join(tmpdir(), 'trawl-upsert-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const pg = new URL(table.url);
    pg.searchParams.set('table', table.name);
    const json = join(dir, 'books.json');
    const args = [
      join(root, 'dist/cli/main.js'),
      'crawl',
      join(root, 'spiders/books.ts'),
      '--start',
      site.url,
      '-o',
      pg.href,
      '-o',
      json,
      '--job-dir',
      join(dir, 'job'),
      '--concurrency',
      '4',
      '--workers',
      '1',
      '--no-progress',
      '--log-level',
      'error',
    ];
    const count = async () =>
      Number((await table.admin.query(`SELECT count(*) AS n FROM "${table.name}"`)).rows[0].n);
    const first = spawn(process.execPath, args, { cwd: root, stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    while ((await count()) < 100 && Date.now() < deadline) await sleep(20);
    first.kill('SIGKILL');
    await exited(first, 10_000);
    const atKill = await count();
    expect(atKill).toBeGreaterThanOrEqual(100);
    expect(atKill).toBeLessThan(books);

    const second = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    second.stderr.on('data', (d) => (err += d));
    expect(await exited(second, 90_000), err).toBe(0);

    const { rows } = await table.admin.query(
      `SELECT count(*)::int AS n, count(DISTINCT data->>'upc')::int AS upcs, count(DISTINCT key)::int AS keys FROM "${table.name}"`,
    );
    expect(rows[0]).toEqual({ n: books, upcs: books, keys: books });
    // The JSON file was mended on resume (the kill left it open, perhaps mid-item) and closed at the end.
    const array = JSON.parse(await readFile(json, 'utf8')) as Array<{ upc: string }>;
    expect(new Set(array.map((b) => b.upc))).toEqual(new Set(site.books.map((b) => b.upc)));
  });
});
