#!/usr/bin/env node
// Parser pool benchmark, run against dist/ (npm run bench -- parser). Pages of ~300 KB of product
// cards are scraped by a selector-heavy callback (bench/parser-spider.mjs).
// 1. Event-loop delay of the main thread during a real crawl of a local site, pool vs --workers 0.
// 2. Parse throughput of the pool alone (no fetching) with 1 and with 2 workers.
// 3. Part 2 again in a child process running with V8's --single-threaded-gc.
// Environment: ROUNDS (default 5), CRAWL_PAGES (default 40), POOL_PAGES (default 64: pages a round
// on 1 worker; 2 workers get twice as many).
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { crawl } from '../dist/index.js';
import { ParserPool } from '../dist/parser/pool.js';

const SPIDER = fileURLToPath(new URL('./parser-spider.mjs', import.meta.url));
const PAGE_BYTES = 300 * 1024;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CRAWL_PAGES = Number(process.env.CRAWL_PAGES ?? 40);
const POOL_PAGES = Number(process.env.POOL_PAGES ?? 64);
const BLOCK_PAGES = 16;

setTimeout(() => {
  console.error('parser bench: gave up after 10 minutes');
  process.exit(1);
}, 600_000).unref();

const RATINGS = ['One', 'Two', 'Three', 'Four', 'Five'];
const TAGS = ['fiction', 'poetry', 'classic', 'new', 'travel', 'history'];

function card(id) {
  const title = `A Light in the Attic, volume ${id}`;
  return `<article class="product_pod"><div class="image_container"><a href="/book/${id}/index.html"><img src="/media/cache/${id}.jpg" alt="${title}" class="thumbnail"></a></div>
<p class="star-rating ${RATINGS[id % 5]}"><i class="icon-star"></i><i class="icon-star"></i><i class="icon-star"></i></p>
<h3><a href="/book/${id}/index.html" title="${title}">${title.slice(0, 20)}...</a></h3>
<div class="product_price"><p class="price_color">\u00a3${(10 + (id % 50) + 0.99).toFixed(2)}</p>
<p class="instock availability"><i class="icon-ok"></i> ${id % 7 ? 'In stock' : 'Out of stock'}</p>
<form><button type="submit" class="btn btn-primary btn-block" data-loading-text="Adding...">Add to basket</button></form></div>
<ul class="tags">${TAGS.map((_, i) => `<li><span>${TAGS[(id + i) % TAGS.length]}</span></li>`).join('')}</ul></article>
`;
}

function listingPage(n) {
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Listing ${n}</title></head><body>
<ul class="breadcrumb"><li><a href="/">Home</a></li><li><a href="/books/">Books</a></li><li class="active">Listing ${n}</li></ul><section><ol class="row">`;
  let html = head;
  for (let id = n * 10_000; html.length < PAGE_BYTES - 200; id++) html += card(id);
  return Buffer.from(`${html}</ol></section></body></html>`);
}

const pages = Array.from({ length: Math.max(CRAWL_PAGES, 8) }, (_, n) => listingPage(n));
const index = Buffer.from(
  `<!doctype html><title>Index</title>${pages.map((_, n) => `<a class="listing" href="/listing/${n}">${n}</a>`).join('\n')}`,
);

const server = createServer((req, res) => {
  const m = /^\/listing\/(\d+)$/.exec(req.url ?? '');
  const body = req.url === '/' ? index : m ? pages[Number(m[1])] : undefined;
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
  });
  res.end(body);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const siteUrl = `http://127.0.0.1:${server.address().port}/`;

const ms = (ns) => ns / 1e6;

/** A whole crawl of the local site; the main thread's event-loop delay is sampled every 1 ms. */
async function crawlRun(workers) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const started = performance.now();
  delay.enable();
  const job = crawl(SPIDER, {
    start: [siteUrl],
    workers,
    concurrency: 8,
    perHost: { concurrency: 8 },
    maxPages: CRAWL_PAGES + 1,
    timeLimitMs: 180_000,
  });
  let items = 0;
  for await (const _ of job) items++;
  delay.disable();
  const stats = await job.finished;
  const seconds = (performance.now() - started) / 1000;
  return {
    workers,
    pages: stats.pages,
    items,
    pagesPerSecond: stats.pages / seconds,
    p50: ms(delay.percentile(50)),
    p99: ms(delay.percentile(99)),
    max: ms(delay.max),
  };
}

/** A parse task for listing page i, as the crawl would send it. */
function poolTask(i) {
  const url = `${siteUrl}listing/${i % pages.length}`;
  return {
    spiderPath: SPIDER,
    callback: 'listing',
    request: {
      url,
      method: 'GET',
      callback: 'listing',
      depth: 1,
      userData: {},
    },
    url,
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    encoding: 'utf-8',
    // A fresh copy per task: the pool transfers (detaches) what it is given.
    body: new Uint8Array(pages[i % pages.length]),
  };
}

/** Pages run through a pool first, so each worker has compiled the callback's hot code. */
const WARM_PAGES_PER_WORKER = 80;

async function warmPool(workers) {
  const pool = new ParserPool({ workers });
  let next = 0;
  const lane = async () => {
    while (next < WARM_PAGES_PER_WORKER * workers) await pool.parse(poolTask(next++));
  };
  await Promise.all(Array.from({ length: workers * 2 }, lane));
  return pool;
}

/** A pool's figures over the blocks of a round. */
function emptyTally() {
  return { pages: 0, seconds: 0, cpuMs: 0, threadCpuMs: 0, threadPages: 0, inCallbackMs: new Map() };
}

/** `count` pages through a warm pool, two in flight per worker; adds what it measured to `tally`. */
async function poolBlock(pool, workers, count, tally) {
  let next = 0;
  // Per worker thread: its CPU clock at the first and the last page it finished in this block.
  const threadCpu = new Map();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const lane = async () => {
    while (next < count) {
      const outcome = await pool.parse(poolTask(next++));
      if (outcome.error) throw new Error(outcome.error.message);
      const cpuMs = outcome.items.at(-1)?.threadCpuMs;
      if (cpuMs !== undefined) {
        const seen = threadCpu.get(outcome.threadId);
        if (seen) {
          seen.last = cpuMs;
          seen.pages++;
        } else threadCpu.set(outcome.threadId, { first: cpuMs, last: cpuMs, pages: 0 });
      }
      tally.inCallbackMs.set(
        outcome.threadId,
        (tally.inCallbackMs.get(outcome.threadId) ?? 0) + outcome.durationMs,
      );
    }
  };
  await Promise.all(Array.from({ length: workers * 2 }, lane));
  const cpu = process.cpuUsage(cpuBefore);
  tally.pages += count;
  tally.seconds += (performance.now() - started) / 1000;
  tally.cpuMs += (cpu.user + cpu.system) / 1000;
  for (const t of threadCpu.values()) {
    tally.threadCpuMs += t.last - t.first;
    tally.threadPages += t.pages;
  }
}

function poolFigures(tally, workers) {
  return {
    pagesPerSecond: tally.pages / tally.seconds,
    // CPU time of the whole process (all threads) per page: the cost of a page, whatever the contention.
    cpuMsPerPage: tally.cpuMs / tally.pages,
    // CPU of the worker threads themselves per page (Linux); the rest of cpuMsPerPage is the main
    // thread and V8's shared GC/compiler helper threads.
    workerCpuMsPerPage: tally.threadPages === 0 ? Number.NaN : tally.threadCpuMs / tally.threadPages,
    // Share of the wall time each worker spent inside a page: near 1 means the pool kept it fed.
    fed:
      tally.inCallbackMs.size < workers
        ? 0
        : Math.min(...[...tally.inCallbackMs.values()].map((msIn) => msIn / (tally.seconds * 1000))),
  };
}

/**
 * One round: POOL_PAGES pages on 1 worker and twice that on 2, in alternating blocks of BLOCK_PAGES
 * (and 2 x BLOCK_PAGES), so a slow spell of the machine falls on both sides instead of on one.
 */
async function poolRound(pools) {
  const tallies = { 1: emptyTally(), 2: emptyTally() };
  for (let done = 0; done < POOL_PAGES; done += BLOCK_PAGES) {
    await poolBlock(pools[1], 1, BLOCK_PAGES, tallies[1]);
    await poolBlock(pools[2], 2, 2 * BLOCK_PAGES, tallies[2]);
  }
  return [poolFigures(tallies[1], 1), poolFigures(tallies[2], 2)];
}

/**
 * Control: the same fixed pure-CPU work on 1 thread, then split over 2. Its speedup is the most any
 * 2-thread run can get from the machine at that moment (other processes share the cores).
 */
async function cpuControl() {
  const code = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (n) => { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i); parentPort.postMessage(x); });`;
  const run = async (threads) => {
    const workers = Array.from({ length: threads }, () => new Worker(code, { eval: true }));
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
    const started = performance.now();
    await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve) => {
            w.once('message', resolve);
            w.postMessage(4e8 / threads);
          }),
      ),
    );
    const elapsed = performance.now() - started;
    await Promise.all(workers.map((w) => w.terminate()));
    return elapsed;
  };
  return (await run(1)) / (await run(2));
}

const fmt = (n, digits = 1) => n.toFixed(digits);
/** Cores the whole process kept busy: a 1-worker run above 1.0 had help from GC threads and the main thread. */
const cores = (run) => (run.cpuMsPerPage * run.pagesPerSecond) / 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) =>
  `median ${fmt(median(xs), 2)}x, range ${fmt(Math.min(...xs), 2)}-${fmt(Math.max(...xs), 2)}x`;
const poolOnly = process.argv[2] === '--pool-only';

async function crawlPart() {
  console.log('\n1. main-thread event-loop delay during a crawl (ms)');
  console.log('round  workers  pages  pages/s   p50    p99     max');
  const p99 = { pool: [], inline: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const workers of [2, 0]) {
      const r = await crawlRun(workers);
      (workers ? p99.pool : p99.inline).push(r.p99);
      console.log(
        `${String(round).padEnd(7)}${String(workers).padEnd(9)}${String(r.pages).padEnd(7)}${fmt(r.pagesPerSecond).padEnd(10)}${fmt(r.p50).padEnd(7)}${fmt(r.p99).padEnd(8)}${fmt(r.max)}`,
      );
    }
  }
  console.log(
    `p99 with 2 workers: ${p99.pool.map((x) => fmt(x)).join(', ')} ms; with --workers 0: ${p99.inline.map((x) => fmt(x)).join(', ')} ms`,
  );
}

async function poolPart(title) {
  console.log(`\n${title}`);
  console.log(
    'round  1 worker p/s  2 workers p/s  speedup  cpu control  cpu ms/page (1 / 2 workers)  of it in workers  cores busy (1 / 2)  workers fed (2)',
  );
  const speedups = [];
  const controls = [];
  // Both pools stay up (an idle worker takes no CPU) so rounds compare warm workers, as in a crawl.
  const pools = { 1: await warmPool(1), 2: await warmPool(2) };
  for (let round = 1; round <= ROUNDS; round++) {
    const [one, two] = await poolRound(pools);
    const control = await cpuControl();
    speedups.push(two.pagesPerSecond / one.pagesPerSecond);
    controls.push(control);
    console.log(
      `${String(round).padEnd(7)}${fmt(one.pagesPerSecond).padEnd(14)}${fmt(two.pagesPerSecond).padEnd(15)}${`${fmt(speedups.at(-1), 2)}x`.padEnd(9)}${`${fmt(control, 2)}x`.padEnd(13)}${`${fmt(one.cpuMsPerPage, 0)} / ${fmt(two.cpuMsPerPage, 0)}`.padEnd(29)}${`${fmt(one.workerCpuMsPerPage, 0)} / ${fmt(two.workerCpuMsPerPage, 0)}`.padEnd(18)}${`${fmt(cores(one), 2)} / ${fmt(cores(two), 2)}`.padEnd(20)}${fmt(two.fed, 2)}`,
    );
  }
  console.log(`speedup 2 vs 1 worker: ${range(speedups)}; pure-CPU control: ${range(controls)}`);
  await Promise.all([pools[1].close(), pools[2].close()]);
}

if (poolOnly) {
  const flags = process.execArgv.join(' ');
  await poolPart(`3. pool throughput, no fetching${flags ? `, node ${flags}` : ''}`);
} else {
  console.log(
    `parser: ${pages.length} pages of ~${Math.round(pages[0].length / 1024)} KB, ${availableParallelism()} cores, node ${process.version}`,
  );
  await crawlPart();
  await poolPart('2. pool throughput, no fetching');
  // V8 flags are fixed at process start, so the comparison runs in a child.
  const child = spawnSync(
    process.execPath,
    ['--single-threaded-gc', fileURLToPath(import.meta.url), '--pool-only'],
    { stdio: 'inherit', env: process.env, timeout: 300_000 },
  );
  if (child.status !== 0) console.log(`single-threaded-gc run failed: ${child.error ?? child.status}`);
}
server.closeAllConnections();
server.close();
