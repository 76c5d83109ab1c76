#!/usr/bin/env node
// Heap used by a frontier holding N queued URLs (default 1,000,000) spread over 100 hosts, each
// URL also in the seen set. Runs against dist/ (npm run bench builds it); needs --expose-gc,
// which bench/run.mjs passes. Usage: node --expose-gc bench/frontier.bench.mjs [N]
import { Frontier } from '../dist/pipeline/frontier.js';

const count = Number(process.argv[2] ?? 1_000_000);
const gc = globalThis.gc;
if (!gc) {
  console.error('run with --expose-gc');
  process.exit(2);
}
gc();
const before = process.memoryUsage().heapUsed;
const started = performance.now();
const frontier = new Frontier({ maxDepth: Number.POSITIVE_INFINITY, allowedHosts: undefined });
const parent = { url: 'http://host0.example/', depth: 0 };
for (let i = 0; i < count; i++) {
  frontier.offer(
    { url: `http://host${i % 100}.example/catalogue/item-${i}/index.html?page=${i % 7}` },
    parent,
  );
}
const addMs = performance.now() - started;
gc();
const heapMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
const dupStart = performance.now();
let dups = 0;
for (let i = 0; i < 100_000; i++) {
  if (
    frontier.offer(
      { url: `http://host${i % 100}.example/catalogue/item-${i}/index.html?page=${i % 7}` },
      parent,
    ) === 'duplicate'
  )
    dups++;
}
const dupMs = performance.now() - dupStart;
const gate = { waitMs: () => 0 };
const popStart = performance.now();
let popped = 0;
while (popped < 100_000 && frontier.take(gate)) popped++;
const popMs = performance.now() - popStart;
const result = {
  queued: frontier.pending + popped,
  seen: frontier.seenCount,
  heapMb: Math.round(heapMb),
  bytesPerUrl: Math.round((heapMb * 1024 * 1024) / count),
  addPerSecond: Math.round(count / (addMs / 1000)),
  duplicatesRejected: dups,
  dedupePerSecond: Math.round(100_000 / (dupMs / 1000)),
  popPerSecond: Math.round(popped / (popMs / 1000)),
};
console.log(JSON.stringify(result));
if (heapMb >= 400) {
  console.error(`heap ${heapMb.toFixed(0)} MB >= 400 MB`);
  process.exit(1);
}
