import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { crawl, deleteSharedCrawl, type Page, sinkFromUri, type Spider } from '../../src/index.js';
import { DATABASE_URL, isolatedTable } from '../helpers/postgres.js';
import { treeSite } from '../helpers/server.js';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL || !DATABASE_URL)
  console.warn('REDIS_URL or DATABASE_URL is not set: skipping the distributed upsert test');

const root = fileURLToPath(new URL('../..', import.meta.url));
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

const tree: Spider = {
  name: 'tree',
  *parse(page: Page) {
    yield { id: Number(page.$('h1').text()) };
    yield* page.followAll('a');
  },
};

describe.skipIf(!REDIS_URL || !DATABASE_URL)('a distributed crawl writing to PostgreSQL', () => {
  it('ends with exactly one row per item when a worker is killed (kill -9) and another takes over', async () => {
    const pages = 255;
    const site = await treeSite(pages, { delayMs: 20 });
    cleanup.push(() => site.close());
    const table = await isolatedTable();
    cleanup.push(() => table.drop());
    const crawlId = `upsert-${process.pid}-${Date.now()}`;
    cleanup.push(() => deleteSharedCrawl(REDIS_URL!, crawlId));
    const output = new URL(table.url);
    output.searchParams.set('table', table.name);
    const start = `${site.origin}/n/0`;
    const worker = join(root, 'test/fixtures/distributed-pg-worker.mjs');
    const first = spawn(process.execPath, [worker, start, REDIS_URL!, crawlId, output.href], {
      stdio: 'ignore',
    });
    const count = async () =>
      Number((await table.admin.query(`SELECT count(*) AS n FROM "${table.name}"`)).rows[0].n);
    const deadline = Date.now() + 30_000;
    while ((await count()) < 40 && Date.now() < deadline) await sleep(20);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.on('exit', resolve));
    expect(await count()).toBeLessThan(pages);

    const stats = await crawl(tree, {
      start: [start],
      workers: 0,
      distributed: { redis: REDIS_URL!, crawlId, leaseMs: 1000 },
    }).pipeTo(sinkFromUri(output.href));
    expect(stats.stopReason).toBe('finished');
    const { rows } = await table.admin.query(
      `SELECT count(*)::int AS n, count(DISTINCT data->>'id')::int AS ids, min((data->>'id')::int) AS lo, max((data->>'id')::int) AS hi FROM "${table.name}"`,
    );
    expect(rows[0]).toEqual({ n: pages, ids: pages, lo: 0, hi: pages - 1 });
  });
});
