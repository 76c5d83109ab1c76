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

/**
 * A PostgreSQL server that answers its first connection (every query returns no rows), then, once
 * told, ends it and ends each later connection in the very write that lets it in, as a restarting
 * server can.
 */
async function serverThatTerminatesOnConnect() {
  const { createServer } = await import('node:net');
  const message = (type: string, body: Buffer | string = Buffer.alloc(0)) => {
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(data.length + 4, 1);
    return Buffer.concat([head, data]);
  };
  const terminated = message('E', 'SFATAL\0C57P01\0Mterminating connection due to administrator command\0\0');
  const ready = message('Z', 'I');
  const replies: Record<string, Buffer> = {
    P: message('1'),
    B: message('2'),
    D: message('n'),
    E: message('C', 'SELECT 0\0'),
    S: ready,
    Q: Buffer.concat([message('C', 'CREATE TABLE\0'), ready]),
  };
  const sockets: import('node:net').Socket[] = [];
  let ending = false;
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    let pending = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const headLength = started ? 5 : 4;
        if (pending.length < headLength) return;
        const length = pending.readInt32BE(started ? 1 : 0) + (started ? 1 : 0);
        if (pending.length < length) return;
        const type = started ? String.fromCharCode(pending[0]!) : '';
        pending = pending.subarray(length);
        if (!started) {
          started = true;
          const welcome = Buffer.concat([message('R', Buffer.alloc(4)), ready]);
          socket.write(ending ? Buffer.concat([welcome, terminated]) : welcome);
          if (ending) socket.end();
        } else if (type === 'X') socket.end();
        else if (replies[type]) socket.write(replies[type]);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `postgres://trawl@127.0.0.1:${port}/test`,
    /** Ends the open connections with FATAL and lets every later one in only to end it. */
    terminateAll() {
      ending = true;
      for (const socket of sockets) socket.end(terminated);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('a PostgreSQL server that ends each connection as it lets it in', () => {
  it('fails the write with a clear error instead of crashing the process', async () => {
    const server = await serverThatTerminatesOnConnect();
    cleanup.push(() => server.close());
    const sink = new PostgresSink(server.url, { table: 'items' });
    await sink.open();
    server.terminateAll();
    await sleep(50);
    const item = { key: 'k', spider: 's', url: 'http://127.0.0.1/', item: { a: 1 }, scrapedAt: Date.now() };
    await expect(sink.write([item as never])).rejects.toThrow(/PostgreSQL upsert into "items" failed/);
    await expect(sink.write([item as never])).rejects.toThrow(/PostgreSQL upsert into "items" failed/);
    await sink.close();
    // Give the process a turn to report an error event nobody listened to.
    await sleep(50);
  });
});
