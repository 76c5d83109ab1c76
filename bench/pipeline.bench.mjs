#!/usr/bin/env node
// Crawls a synthetic site of 10k and 100k pages, each crawl in its own child process, and compares
// their peak RSS: the pipeline's memory should stay flat as the crawl grows (target: the 100k
// crawl peaks at most 1.3x the 10k one). Runs against dist/ (npm run bench builds it).
// Usage: node bench/pipeline.bench.mjs [sizes...]   e.g. node bench/pipeline.bench.mjs 10000 100000
// RSS_SERIES=1 adds each crawl's RSS, sampled once a second, to its figures.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { childFigures } from './child.mjs';

const CHILD_TIMEOUT_MS = 600_000;
const FANOUT = 10;

if (process.argv[2] === '--child') {
  await child(process.argv[3], Number(process.argv[4]));
} else {
  await parent(process.argv.slice(2).map(Number).filter(Boolean));
}

/** One crawl; prints its figures as JSON. */
async function child(start, pages) {
  const { crawl } = await import('../dist/index.js');
  const spider = fileURLToPath(new URL('./pipeline-spider.mjs', import.meta.url));
  let items = 0;
  const sink = {
    async write(batch) {
      items += batch.length;
    },
    async close() {},
  };
  let peakHeap = 0;
  // RSS_SERIES=1: RSS once a second, to tell growth with the crawl from a one-off rise.
  const rssSeries = [];
  let ticks = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    if (process.env.RSS_SERIES && ++ticks % 10 === 0)
      rssSeries.push(Math.round(process.memoryUsage.rss() / 1024 / 1024));
  }, 100);
  const started = performance.now();
  const stats = await crawl(spider, { start: [start], concurrency: 32, workers: 2 }).pipeTo(sink);
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      pages: stats.pages,
      items,
      failed: stats.failed,
      seconds: Number(seconds.toFixed(1)),
      pagesPerSecond: Math.round(stats.pages / seconds),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      peakHeapMb: Math.round(peakHeap / 1024 / 1024),
      stopReason: stats.stopReason,
      expected: pages,
      ...(process.env.RSS_SERIES ? { rssMbEachSecond: rssSeries } : {}),
    }),
  );
}

/** A tree site of `size` pages: /p/i links to /p/(10i+1) .. /p/(10i+10) below size. */
function startSite(size) {
  const server = createServer((req, res) => {
    const i = Number(/^\/p\/(\d+)$/.exec(req.url ?? '')?.[1] ?? -1);
    if (!(i >= 0 && i < size)) {
      res.writeHead(404).end();
      return;
    }
    let links = '';
    for (let c = FANOUT * i + 1; c <= FANOUT * i + FANOUT && c < size; c++)
      links += `<li><a href="/p/${c}">page ${c}</a></li>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html><head><title>page ${i}</title></head><body><h1>item-${i}</h1><p class="price">${(i % 97) + 0.5}</p><p>${'lorem ipsum '.repeat(20)}</p><ul>${links}</ul></body></html>`,
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function parent(sizes) {
  if (sizes.length === 0) sizes = [10_000, 100_000];
  const results = [];
  for (const size of sizes) {
    const server = await startSite(size);
    const url = `http://127.0.0.1:${server.address().port}/p/0`;
    const result = await childFigures(
      fileURLToPath(import.meta.url),
      ['--child', url, String(size)],
      CHILD_TIMEOUT_MS,
    );
    server.closeAllConnections();
    server.close();
    console.log(JSON.stringify(result));
    results.push(result);
  }
  const small = results[0];
  const large = results.at(-1);
  if (results.length > 1) {
    const ratio = large.peakRssMb / small.peakRssMb;
    console.log(
      `peak RSS ${large.expected} pages / ${small.expected} pages: ${ratio.toFixed(2)}x (target <= 1.3x)`,
    );
    if (ratio > 1.3 || results.some((r) => r.pages !== r.expected)) process.exitCode = 1;
  }
}
