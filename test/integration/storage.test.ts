import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Keyv from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  crawl,
  type Item,
  MemorySink,
  type Page,
  type Sink,
  type Spider,
  sinkFromUri,
} from '../../src/index.js';
import { treeSite } from '../helpers/server.js';
import { records } from '../helpers/records.js';

const REDIS_URL = process.env.REDIS_URL;
const DATABASE_URL = process.env.DATABASE_URL;
if (!REDIS_URL) console.warn('REDIS_URL is not set: skipping the Redis sink contract');
if (!DATABASE_URL) console.warn('DATABASE_URL is not set: skipping the PostgreSQL sink contract');

const batches: Item[][] = [
  [
    { url: 'http://127.0.0.1/a', title: 'Ä "quoted", comma', price: 12.5 },
    { url: 'http://127.0.0.1/b', title: 'line\nbreak', price: 0, tags: ['x', 'y'] },
  ],
  [{ url: 'http://127.0.0.1/c', title: '日本語', price: 3, nested: { ok: true } }],
];
const all = batches.flat();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trawl-sinks-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Case {
  name: string;
  skip?: string | false;
  make(): { sink: Sink; readBack(): Promise<Item[]> };
}

const suffix = `${process.pid}_${Date.now()}`;
const cases: Case[] = [
  {
    name: 'memory',
    make() {
      const sink = new MemorySink();
      return { sink, readBack: async () => sink.items };
    },
  },
  {
    name: 'jsonl',
    make() {
      const path = join(dir, 'items.jsonl');
      return {
        sink: sinkFromUri(path),
        readBack: async () =>
          (await readFile(path, 'utf8'))
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l)),
      };
    },
  },
  {
    name: 'json',
    make() {
      const path = join(dir, 'items.json');
      return { sink: sinkFromUri(path), readBack: async () => JSON.parse(await readFile(path, 'utf8')) };
    },
  },
  {
    name: 'sqlite (keyv)',
    make() {
      const path = join(dir, 'items.sqlite');
      return {
        sink: sinkFromUri(`sqlite://${path}?namespace=books&key=url`),
        readBack: async () => {
          const { default: KeyvSqlite } = await import('@keyv/sqlite');
          const keyv = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${path}` }), namespace: 'books' });
          const out = (await keyv.getMany(all.map((i) => String(i.url)))) as Item[];
          await keyv.disconnect();
          return out;
        },
      };
    },
  },
  {
    name: 'redis (keyv)',
    skip: !REDIS_URL && 'REDIS_URL not set',
    make() {
      const namespace = `trawl_test_${suffix}`;
      return {
        sink: sinkFromUri(`${REDIS_URL}?namespace=${namespace}&key=url`),
        readBack: async () => {
          const { default: KeyvRedis } = await import('@keyv/redis');
          const keyv = new Keyv({ store: new KeyvRedis(REDIS_URL), namespace });
          const out = (await keyv.getMany(all.map((i) => String(i.url)))) as Item[];
          await keyv.clear();
          await keyv.disconnect();
          return out;
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: !DATABASE_URL && 'DATABASE_URL not set',
    make() {
      const table = `trawl_test_${suffix}`;
      const url = new URL(DATABASE_URL!);
      url.searchParams.set('table', table);
      return {
        sink: sinkFromUri(url.href),
        readBack: async () => {
          const { default: pg } = await import('pg');
          const client = new pg.Client({ connectionString: DATABASE_URL });
          await client.connect();
          const { rows } = await client.query(`SELECT data FROM "${table}" ORDER BY key`);
          await client.query(`DROP TABLE "${table}"`);
          await client.end();
          return rows.map((r) => r.data);
        },
      };
    },
  },
];

describe.each(cases)('the $name sink', ({ skip, make }) => {
  it.skipIf(Boolean(skip))('stores every item of every batch, unchanged, once closed', async () => {
    const { sink, readBack } = make();
    await sink.open?.();
    let n = 0;
    for (const batch of batches) {
      await sink.write(records(batch, n));
      n += batch.length;
    }
    await sink.close();
    expect(await readBack()).toEqual(all);
  });
});

describe('the csv sink', () => {
  it('takes the header from the first batch, quotes per RFC 4180 and writes nested values as JSON', async () => {
    const path = join(dir, 'items.csv');
    const sink = sinkFromUri(path);
    const warnings: string[] = [];
    await sink.open?.({ signal: new AbortController().signal, warn: (m) => warnings.push(m) });
    for (const batch of batches) await sink.write(records(batch));
    await sink.close();
    expect(await readFile(path, 'utf8')).toBe(
      [
        'url,title,price,tags',
        'http://127.0.0.1/a,"Ä ""quoted"", comma",12.5,',
        'http://127.0.0.1/b,"line\nbreak",0,"[""x"",""y""]"',
        'http://127.0.0.1/c,日本語,3,',
        '',
      ].join('\r\n'),
    );
    // The second batch brought a field the header does not have: named, not dropped silently.
    expect(warnings).toEqual([expect.stringMatching(/field "nested" first appeared after the CSV header/)]);
  });

  it('writes the columns of ?fields= in their order, and no others', async () => {
    const path = join(dir, 'fields.csv');
    const sink = sinkFromUri(`${path}?fields=price,url`);
    await sink.open?.();
    for (const batch of batches) await sink.write(records(batch));
    await sink.close();
    expect(await readFile(path, 'utf8')).toBe(
      ['price,url', '12.5,http://127.0.0.1/a', '0,http://127.0.0.1/b', '3,http://127.0.0.1/c', ''].join(
        '\r\n',
      ),
    );
  });
});

describe('sinkFromUri', () => {
  it.each(['items.xlsx', 'ftp://host/items', 'items'])('rejects %s with a clear message', (uri) => {
    expect(() => sinkFromUri(uri)).toThrow(/unsupported output/);
  });

  it('rejects a table name that is not an identifier', () => {
    expect(() => sinkFromUri('postgres://127.0.0.1/test?table=items;drop')).toThrow(
      /invalid PostgreSQL table/,
    );
  });
});

describe('the json sink on resume', () => {
  it.each([
    ['a cut last item', '[\n{"a":1},\n{"b":', [{ a: 1 }]],
    ['a cut after the comma', '[\n{"a":1},', [{ a: 1 }]],
    ['an unclosed array', '[\n{"a":1},\n{"b":2}', [{ a: 1 }, { b: 2 }]],
    ['a closed array', '[\n{"a":1}\n]\n', [{ a: 1 }]],
    ['only the bracket', '[', []],
    ['an empty file', '', []],
  ])('mends %s and goes on appending', async (_, before, kept) => {
    const path = join(dir, `resume-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(path, before);
    const sink = sinkFromUri(path, { append: true });
    await sink.open?.();
    await sink.write(records([{ c: 3 }]));
    await sink.close();
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual([...kept, { c: 3 }]);
  });
});

describe('item keys', () => {
  const site = () => treeSite(7);
  const tree = (extra: Partial<Spider> = {}): Spider => ({
    name: 'tree',
    *parse(page: Page) {
      const id = Number(page.$('h1').text());
      yield { id, half: 'a' };
      yield { id, half: 'b' };
      yield* page.followAll('a');
    },
    ...extra,
  });

  it("are the spider's itemKey(item) when it has one", async () => {
    const server = await site();
    try {
      const sink = new MemorySink();
      await crawl(tree({ itemKey: (item) => `${String(item.id)}${String(item.half)}` }), {
        start: [`${server.origin}/n/0`],
        workers: 0,
      }).pipeTo(sink);
      expect(sink.records.map((r) => r.key).sort()).toEqual(
        [0, 1, 2, 3, 4, 5, 6].flatMap((i) => [`${i}a`, `${i}b`]).sort(),
      );
      expect(sink.records[0]).toMatchObject({ spider: 'tree', url: `${server.origin}/n/0` });
    } finally {
      await server.close();
    }
  });

  it('are the request fingerprint and the index on the page otherwise, the same on every run', async () => {
    const server = await site();
    try {
      const keysOfRun = async () => {
        const sink = new MemorySink();
        await crawl(tree(), { start: [`${server.origin}/n/0`], workers: 0 }).pipeTo(sink);
        return sink.records.map((r) => `${r.key} ${String(r.item.id)}${String(r.item.half)}`).sort();
      };
      const first = await keysOfRun();
      expect(first).toHaveLength(14);
      for (const line of first) expect(line).toMatch(/^[0-9A-Za-z_-]{16,}:(0 \d+a|1 \d+b)$/);
      expect(await keysOfRun()).toEqual(first);
    } finally {
      await server.close();
    }
  });
});
