// Evidence for how per-host limits are enforced: the smallest gap between request starts as the
// server sees it, for bottleneck (maxConcurrent + minTime) and for trawl's HostLimits driven the
// way the crawl scheduler drives it. The server runs in a child process and stamps arrivals with
// its own monotonic clock.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { crawlRequest, defaultFetcher } from './request.mjs';
import { Agent } from 'undici';

const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 50);
const CONCURRENCY = 2;
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 60);

if (process.argv[2] === 'server') {
  const { createServer } = await import('node:http');
  let arrivals = [];
  const server = createServer((req, res) => {
    if (req.url === '/reset') {
      const out = arrivals;
      arrivals = [];
      return res.end(JSON.stringify(out));
    }
    arrivals.push(performance.now());
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>ok</p>'), 5);
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
} else {
  const require = createRequire(import.meta.url);
  const Bottleneck = require('bottleneck');
  const { HostLimits } = await import('../dist/fetcher/host-limits.js');
  const child = fork(fileURLToPath(import.meta.url), ['server'], { stdio: 'inherit' });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const origin = `http://127.0.0.1:${port}`;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function arrivals() {
    const agent = new Agent();
    const res = await agent.request({ origin, path: '/reset', method: 'GET' });
    const out = JSON.parse(await res.body.text());
    await agent.close();
    return out;
  }

  function report(name, times) {
    let min = Number.POSITIVE_INFINITY;
    let below = 0;
    for (let i = 1; i < times.length; i++) {
      const gap = times[i] - times[i - 1];
      min = Math.min(min, gap);
      if (gap < GAP_MS) below++;
    }
    console.log(
      `${name.padEnd(34)} min gap ${min.toFixed(2).padStart(7)} ms, gaps under ${GAP_MS} ms: ${below}/${times.length - 1}`,
    );
  }

  async function withBottleneck() {
    const agent = new Agent({ connections: CONCURRENCY });
    const limiter = new Bottleneck({ maxConcurrent: CONCURRENCY, minTime: GAP_MS });
    await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) =>
        limiter.schedule(async () => {
          const res = await agent.request({ origin, path: `/b${i}`, method: 'GET' });
          await res.body.text();
        }),
      ),
    );
    await agent.close();
    report('bottleneck 2.19, server side', await arrivals());
  }

  async function withHostLimits() {
    const limits = new HostLimits(
      { concurrency: CONCURRENCY, delayMs: GAP_MS, jitterMs: 0 },
      { adaptive: false },
    );
    const fetcher = await defaultFetcher({
      obeyRobotsTxt: false,
      hostLimits: limits,
      startUrls: [`${origin}/`],
    });
    // Also stamp, on this side, the moment each request is written to the socket.
    const written = [];
    const sent = limits.sent.bind(limits);
    limits.sent = (o) => {
      written.push(performance.now());
      sent(o);
    };
    const inFlight = new Set();
    // The scheduler's loop: ask, wait what it says (timers may fire early), admit, fetch.
    for (let i = 0; i < REQUESTS;) {
      const wait = limits.waitMs(origin);
      if (wait > 0) {
        await (Number.isFinite(wait) ? sleep(wait) : Promise.race(inFlight));
        continue;
      }
      limits.acquire(origin);
      const url = `${origin}/h${i++}`;
      const task = fetcher.fetch(crawlRequest(url)).finally(() => {
        limits.release(origin);
        inFlight.delete(task);
      });
      inFlight.add(task);
    }
    await Promise.all(inFlight);
    await fetcher.close();
    report('trawl HostLimits, server side', await arrivals());
    report('trawl HostLimits, client write', written);
  }

  console.log(`one origin, concurrency ${CONCURRENCY}, gap ${GAP_MS} ms, ${REQUESTS} requests each`);
  for (let round = 0; round < 2; round++) {
    await withBottleneck();
    await withHostLimits();
  }
  child.disconnect();
}
