#!/usr/bin/env node
// Items per second each output takes: N small items (default 100,000) written in batches of 100
// and of 1,000 (the crawl's default sinks.batchSize), timed from open to close. PostgreSQL and
// the Redis stream run when DATABASE_URL / REDIS_URL are set (a fresh table / stream, dropped
// after). Runs against dist/. Usage: [STORAGE_ONLY=postgres] node bench/storage.bench.mjs [N]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sinkFromUri } from '../dist/index.js';

const count = Number(process.argv[2] ?? 100_000);
const dir = await mkdtemp(join(tmpdir(), 'trawl-bench-storage-'));
const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const tag = `bench_${process.pid}`;

const records = Array.from({ length: count }, (_, i) => ({
  key: `k${i}`,
  url: `http://127.0.0.1/catalogue/item-${i}.html`,
  spider: 'bench',
  scrapedAt: Date.now(),
  item: {
    id: i,
    title: `Book number ${i}`,
    price: (i % 5000) / 100,
    inStock: i % 3 !== 0,
    tags: ['fiction', `t${i % 10}`],
  },
}));

const outputs = [
  ['jsonl', () => join(dir, 'items.jsonl')],
  ['csv', () => join(dir, 'items.csv')],
  ['parquet', () => join(dir, 'items.parquet')],
  ['sqlite (keyv)', () => `sqlite://${join(dir, `items-${Math.random()}.sqlite`)}`],
  ...(DATABASE_URL
    ? [['postgres (upsert)', () => `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}table=${tag}`]]
    : []),
  ...(REDIS_URL ? [['redis stream', () => `${REDIS_URL}?stream=${tag}&maxlen=0`]] : []),
];

async function cleanUp(name) {
  if (name.startsWith('postgres')) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS "${tag}"`);
    await client.end();
  }
  if (name === 'redis stream') {
    const { createClient } = await import('@redis/client');
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    await client.del(tag);
    await client.close();
  }
}

// STORAGE_ONLY=postgres runs only the outputs whose name contains it.
const only = process.env.STORAGE_ONLY;
const results = [];
try {
  for (const [name, uri] of outputs.filter(([name]) => !only || name.includes(only))) {
    for (const batchSize of [100, 1000]) {
      await cleanUp(name);
      // PostgreSQL runs twice on the same table: into an empty one, then over rows every key already has.
      const passes = name.startsWith('postgres') ? [name, `${name} over existing rows`] : [name];
      for (const label of passes) {
        const sink = sinkFromUri(uri());
        const started = performance.now();
        await sink.open?.({ signal: new AbortController().signal, warn: () => undefined });
        for (let i = 0; i < count; i += batchSize) await sink.write(records.slice(i, i + batchSize));
        await sink.close();
        const ms = performance.now() - started;
        console.error(`${label} batch ${batchSize}: ${Math.round(ms)} ms`);
        results.push({
          output: label,
          batchSize,
          items: count,
          ms: Math.round(ms),
          itemsPerSecond: Math.round(count / (ms / 1000)),
        });
      }
    }
    await cleanUp(name);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.table(results);
console.log(JSON.stringify({ bench: 'storage', results }));
