import { createClient } from '@redis/client';
import { afterEach, describe, expect, it } from 'vitest';
import { crawl, OutputOpenError, type Page, sinkFromUri, type Spider } from '../../src/index.js';
import { records } from '../helpers/records.js';
import { treeSite } from '../helpers/server.js';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('REDIS_URL is not set: skipping the Redis stream sink tests');

type Client = ReturnType<typeof createClient>;
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0).reverse()) await undo();
});

async function redis(): Promise<Client> {
  const client: Client = createClient({ url: REDIS_URL! });
  client.on('error', () => undefined);
  await client.connect();
  cleanup.push(() => client.close());
  return client;
}

const streamName = () =>
  `trawl:test:stream:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2)}`;

const tree: Spider = {
  name: 'tree',
  *parse(page: Page) {
    yield { id: Number(page.$('h1').text()), nested: { deep: [1, 2] } };
    yield* page.followAll('a');
  },
};

/** One consumer of a group: reads new entries until `done()` and the stream has nothing more for it, acking each. */
async function consume(client: Client, stream: string, group: string, name: string, done: () => boolean) {
  const got: Array<Record<string, string>> = [];
  for (;;) {
    const reply = (await client.xReadGroup(
      group,
      name,
      { key: stream, id: '>' },
      { COUNT: 50, BLOCK: 100 },
    )) as Array<{
      messages: Array<{ id: string; message: Record<string, string> }>;
    }> | null;
    const messages = reply?.[0]?.messages ?? [];
    for (const m of messages) {
      got.push(m.message);
      await client.xAck(stream, group, m.id);
    }
    if (messages.length === 0 && done()) return got;
  }
}

describe.skipIf(!REDIS_URL)('the Redis stream sink', () => {
  it('adds every item as it is crawled; a consumer group reads each exactly once', async () => {
    const site = await treeSite(120);
    cleanup.push(() => site.close());
    const stream = streamName();
    const admin = await redis();
    cleanup.push(() => admin.del(stream));
    await admin.xGroupCreate(stream, 'readers', '0', { MKSTREAM: true });
    const [a, b] = [await redis(), await redis()];
    let finished = false;
    const readers = Promise.all([
      consume(a, stream, 'readers', 'a', () => finished),
      consume(b, stream, 'readers', 'b', () => finished),
    ]);
    const stats = await crawl(tree, { start: [`${site.origin}/n/0`], workers: 0 }).pipeTo(
      sinkFromUri(`${REDIS_URL}?stream=${encodeURIComponent(stream)}`),
    );
    finished = true;
    const [fromA, fromB] = await readers;
    expect(stats.items).toBe(120);
    const all = [...fromA, ...fromB];
    expect(all.map((m) => (JSON.parse(m.item!) as { id: number }).id).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 120 }, (_, i) => i),
    );
    expect(JSON.parse(all[0]!.item!)).toMatchObject({ nested: { deep: [1, 2] } });
    expect(all[0]).toMatchObject({ spider: 'tree', key: expect.stringMatching(/:0$/) as unknown });
    expect(new Date(all[0]!.scrapedAt!).getTime()).toBeGreaterThan(0);
  });

  it('trims the stream to about ?maxlen= entries', async () => {
    const stream = streamName();
    const admin = await redis();
    cleanup.push(() => admin.del(stream));
    const sink = sinkFromUri(`${REDIS_URL}?stream=${encodeURIComponent(stream)}&maxlen=1000`);
    await sink.open?.();
    const items = Array.from({ length: 5000 }, (_, i) => ({ i }));
    for (let i = 0; i < items.length; i += 500) await sink.write(records(items.slice(i, i + 500), i));
    await sink.close();
    const length = await admin.xLen(stream);
    expect(length).toBeGreaterThanOrEqual(1000);
    expect(length).toBeLessThan(2000);
  });

  it('fails to open, before any crawl, when Redis cannot be reached', async () => {
    const sink = sinkFromUri('redis://127.0.0.1:1?stream=items');
    await expect(sink.open?.()).rejects.toBeInstanceOf(OutputOpenError);
  });
});
