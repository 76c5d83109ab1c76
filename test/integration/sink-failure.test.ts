import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { crawl, MemorySink, type Page, PostgresSink, type Spider } from '../../src/index.js';
import { DATABASE_URL, isolatedTable } from '../helpers/postgres.js';
import { type TestServer, treeSite } from '../helpers/server.js';

if (!DATABASE_URL)
  console.warn('DATABASE_URL is not set: skipping the sink failure tests against PostgreSQL');

const PAGES = 600;

const spider: Spider = {
  name: 'tree',
  *parse(page: Page) {
    yield { id: Number(page.$('h1').text()), url: page.url };
    yield* page.followAll('a');
  },
};

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

async function setup() {
  const server: TestServer = await treeSite(PAGES, { delayMs: 2 });
  cleanup.push(() => server.close());
  const table = await isolatedTable();
  cleanup.push(() => table.drop());
  const dir = await mkdtemp(join(tmpdir(), 'trawl-fallback-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return { start: `${server.origin}/n/0`, table, dir };
}

/** Every id 0..PAGES-1 exactly once over the table and the fallback files. */
async function idsStored(table: Awaited<ReturnType<typeof isolatedTable>>, dir: string): Promise<number[]> {
  const ids = (await table.rows()).map((r) => Number(r.data.id));
  for (const file of await readdir(dir))
    for (const line of (await readFile(join(dir, file), 'utf8')).split('\n').filter(Boolean))
      ids.push(Number((JSON.parse(line) as { item: { id: number } }).item.id));
  return ids.sort((a, b) => a - b);
}

const all = Array.from({ length: PAGES }, (_, i) => i);

describe.skipIf(!DATABASE_URL)('a PostgreSQL output that fails mid-crawl', () => {
  it('loses nothing when its backends are terminated (pg_terminate_backend): the pool reconnects and the writes are retried', async () => {
    const { start, table, dir } = await setup();
    const job = crawl(spider, {
      start: [start],
      workers: 0,
      concurrency: 4,
      sinks: { retryBaseMs: 20, retryMaxMs: 200, fallbackDir: dir },
    });
    let killing: Promise<void> | undefined;
    job.events.on('item', () => {
      if (job.stats.items !== 100) return;
      killing = (async () => {
        // Terminate every backend of the role, again and again, while writes go on.
        for (let i = 0; i < 40; i++) {
          await table.admin.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1',
            [table.name],
          );
          await sleep(10);
        }
      })();
    });
    const stats = await job.pipeTo(new PostgresSink(table.url, { table: table.name }));
    await killing;
    // Some writes were cut by the terminations and retried on a new connection.
    expect(stats.sinkFailures).toBeGreaterThan(0);
    expect(stats.stopReason).toBe('finished');
    expect(stats.items).toBe(PAGES);
    expect(stats.fallbackItems).toBe(0);
    expect(stats.sinks[0]).toMatchObject({ items: PAGES, fallbackItems: 0 });
    expect(await idsStored(table, dir)).toEqual(all);
  });

  it('pauses the crawl while INSERT is revoked and delivers every item once it is granted back', async () => {
    const { start, table, dir } = await setup();
    const job = crawl(spider, {
      start: [start],
      workers: 0,
      concurrency: 4,
      itemBuffer: 20,
      sinks: { retryBaseMs: 20, retryMaxMs: 100, queueBatches: 2, batchSize: 10, fallbackDir: dir },
    });
    const retries: string[] = [];
    job.events.on('sinkRetry', (r) => retries.push(r.error.message));
    let revoked: Promise<number[]> | undefined;
    job.events.on('item', () => {
      if (job.stats.items !== 100) return;
      revoked = (async () => {
        await table.admin.query(`REVOKE INSERT ON "${table.name}" FROM "${table.name}"`);
        await sleep(300);
        const pagesBefore = job.stats.pages;
        await sleep(700);
        const pagesAfter = job.stats.pages;
        await table.admin.query(`GRANT INSERT ON "${table.name}" TO "${table.name}"`);
        return [pagesBefore, pagesAfter];
      })();
    });
    const stats = await job.pipeTo(new PostgresSink(table.url, { table: table.name }));
    const [pagesBefore, pagesAfter] = (await revoked)!;
    // Backpressure: while every write fails, no page is parsed (all buffers are full).
    expect(pagesAfter).toBe(pagesBefore);
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]).toMatch(/permission denied/);
    expect(stats.sinkFailures).toBe(stats.sinks[0]!.failures);
    expect(stats.sinks[0]!.failures).toBeGreaterThan(0);
    expect(stats.stopReason).toBe('finished');
    expect(stats.fallbackItems).toBe(0);
    expect(await idsStored(table, dir)).toEqual(all);
  });

  it('gives up after giveUpAfterMs: its items (and all later ones) go to the fallback file, the other outputs go on', async () => {
    const { start, table, dir } = await setup();
    const memory = new MemorySink();
    const job = crawl(spider, {
      start: [start],
      workers: 0,
      concurrency: 4,
      sinks: { retryBaseMs: 20, retryMaxMs: 100, giveUpAfterMs: 300, fallbackDir: dir },
    });
    const fallbacks: string[] = [];
    job.events.on('sinkFallback', (f) => fallbacks.push(f.path));
    job.events.on('item', () => {
      if (job.stats.items === 100)
        void table.admin.query(`REVOKE INSERT ON "${table.name}" FROM "${table.name}"`);
    });
    const stats = await job.pipeTo(new PostgresSink(table.url, { table: table.name }), memory);
    expect(stats.stopReason).toBe('finished');
    expect(memory.items.map((i) => i.id).sort((a, b) => Number(a) - Number(b))).toEqual(all);
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]!.startsWith(dir)).toBe(true);
    const pgStats = stats.sinks[0]!;
    expect(pgStats.fallback).toBe(fallbacks[0]);
    expect(pgStats.fallbackItems).toBeGreaterThan(0);
    // Counted exactly: what the table holds plus what the fallback holds is every item once.
    expect(pgStats.items + pgStats.fallbackItems).toBe(PAGES);
    expect(stats.fallbackItems).toBe(pgStats.fallbackItems);
    expect((await table.rows()).length).toBe(pgStats.items);
    expect(await idsStored(table, dir)).toEqual(all);
  });
});
