#!/usr/bin/env node
// Redis memory of a distributed crawl: N requests (default 1,000,000, BENCH_URLS to change) queued
// through SharedFrontier.add as a crawl queues found links, over 100 hosts; then the bytes a queued
// URL costs (queue ZSET + request JSON + host counts) and a seen fingerprint costs (the bucketed
// hashes), by MEMORY USAGE of every key of the crawl (exact, not INFO deltas, since the Redis may
// serve others), beside the plain SET of fingerprints the seen set used to be. The crawl id is
// bench-mem-<pid>; everything is deleted afterwards. Needs Redis: REDIS_URL (default 127.0.0.1:6379).
import { createClient } from '@redis/client';
import { deleteSharedCrawl } from '../dist/index.js';
import { canonicalUrl, fingerprint } from '../dist/pipeline/fingerprint.js';
import { SharedFrontier } from '../dist/pipeline/shared-frontier.js';
import { crawlRequest } from './request.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const COUNT = Number(process.env.BENCH_URLS ?? 1_000_000);
const BATCH = 1000;
const crawlId = `bench-mem-${process.pid}`;

const client = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false } });
client.on('error', () => undefined);
try {
  await client.connect();
} catch (error) {
  console.log(`redis-memory: skipped, no Redis at ${REDIS_URL} (${error.message})`);
  process.exit(0);
}

function request(i) {
  const url = `http://host${i % 100}.example/catalogue/item-${i}/index.html?page=${i % 7}`;
  return {
    ...crawlRequest(url),
    depth: 2,
    fingerprint: fingerprint(canonicalUrl(url)),
    referrer: `http://host${i % 100}.example/catalogue/page-${Math.floor(i / 20)}.html`,
  };
}

/** Sum of MEMORY USAGE over the keys matching `pattern`, and how many keys. */
async function usage(pattern) {
  let bytes = 0;
  let keys = 0;
  for await (const batch of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
    const sizes = await Promise.all(batch.map((k) => client.memoryUsage(k, { SAMPLES: 0 })));
    bytes += sizes.reduce((a, b) => a + (b ?? 0), 0);
    keys += batch.length;
  }
  return { bytes, keys };
}

const frontier = await SharedFrontier.connect({ url: REDIS_URL, crawlId });
try {
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(COUNT, i + BATCH); j++) batch.push(request(j));
    await frontier.add(batch);
  }
  const addS = (performance.now() - t0) / 1000;
  const prefix = `trawl:${crawlId}:`;
  const seen = await usage(`${prefix}seen:*`);
  let queued = 0;
  for (const name of ['queue', 'requests', 'hostq', 'hosts', 'seq'])
    queued += (await client.memoryUsage(`${prefix}${name}`, { SAMPLES: 0 })) ?? 0;
  // The seen set as it was: one SET of the 22-character fingerprints.
  const plainKey = `${prefix}plain-seen`;
  for (let i = 0; i < COUNT; i += BATCH) {
    const members = [];
    for (let j = i; j < Math.min(COUNT, i + BATCH); j++) members.push(request(j).fingerprint);
    await client.sAdd(plainKey, members);
  }
  const plain = (await client.memoryUsage(plainKey, { SAMPLES: 0 })) ?? 0;
  await client.del(plainKey);
  const entries = Number((await client.configGet('hash-max-listpack-entries'))['hash-max-listpack-entries']);
  const per = (bytes) => (bytes / COUNT).toFixed(1);
  console.log(
    `redis-memory: ${COUNT.toLocaleString('en-US')} URLs over 100 hosts, queued in ${addS.toFixed(1)} s (${Math.round(COUNT / addS)} a second)`,
  );
  console.log(
    `queued: ${(queued / 2 ** 20).toFixed(1)} MiB, ${per(queued)} bytes a queued URL (queue ZSET, request JSON, host counts)`,
  );
  console.log(
    `seen (bucketed hashes): ${(seen.bytes / 2 ** 20).toFixed(1)} MiB in ${seen.keys} keys, ${per(seen.bytes)} bytes a fingerprint; plain SET: ${(plain / 2 ** 20).toFixed(1)} MiB, ${per(plain)} bytes`,
  );
  // At 10 million URLs each of the 262,144 buckets holds ~38 fingerprints: measured on one bucket.
  const sampleKey = `${prefix}seen-sample`;
  const fields = {};
  for (let i = 0; i < 38; i++) fields[request(COUNT + i).fingerprint.slice(3, 11)] = '';
  await client.hSet(sampleKey, fields);
  const bucket = (await client.memoryUsage(sampleKey, { SAMPLES: 0 })) ?? 0;
  await client.del(sampleKey);
  console.log(
    `10,000,000 URLs: seen set ~${((bucket * 262_144) / 2 ** 30).toFixed(2)} GiB (${bucket} bytes a bucket of 38); queue ~${((queued * (10_000_000 / COUNT)) / 2 ** 30).toFixed(2)} GiB while all of them are queued (hash-max-listpack-entries ${entries}: buckets stay compact up to ${(entries * 262_144).toLocaleString('en-US')} URLs)`,
  );
} finally {
  await frontier.close();
  await deleteSharedCrawl(REDIS_URL, crawlId);
  client.destroy();
}
