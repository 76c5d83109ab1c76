// The trawl fetcher against a bare undici request loop, same local server, same concurrency.
// The server runs in a child process so it does not share the client's event loop. Rounds
// alternate (bare, trawl, bare, ...) so drift in a shared machine's load hits both alike.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { crawlRequest, defaultFetcher } from './request.mjs';
import { Agent } from 'undici';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_LIMIT_MS = 60_000;

if (process.argv[2] === 'server') {
  const { createServer } = await import('node:http');
  const body = Buffer.from(`<html><body>${'<p>item</p>'.repeat(180)}</body></html>`);
  const server = createServer((req, res) => {
    if (req.url === '/robots.txt') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
} else {
  const { HostLimits } = await import('../dist/fetcher/host-limits.js');
  const child = fork(fileURLToPath(import.meta.url), ['server'], { stdio: 'inherit' });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const origin = `http://127.0.0.1:${port}`;

  /**
   * Runs `one(i)` for i in [0, REQUESTS) with CONCURRENCY loops; returns requests per second and
   * this process's CPU time per request (steadier than req/s when other work shares the cores).
   */
  async function measure(one) {
    let next = 0;
    const deadline = performance.now() + ROUND_LIMIT_MS;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const loop = async () => {
      while (next < REQUESTS && performance.now() < deadline) await one(next++);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, loop));
    const cpu = process.cpuUsage(cpu0);
    return { rps: (next * 1000) / (performance.now() - t0), cpuUs: (cpu.user + cpu.system) / next };
  }

  async function bare() {
    const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 10_000 });
    try {
      return await measure(async (i) => {
        const res = await agent.request({ origin, path: `/p${i}`, method: 'GET' });
        await res.body.arrayBuffer();
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      });
    } finally {
      await agent.close();
    }
  }

  async function trawl() {
    // Everything a crawl uses per request: host admission, robots.txt, guard, cookies, body cap,
    // charset detection, adaptive throttle.
    const hostLimits = new HostLimits({ concurrency: CONCURRENCY, delayMs: 0, jitterMs: 0 });
    const fetcher = await defaultFetcher({
      connectionsPerOrigin: CONCURRENCY,
      hostLimits,
      startUrls: [`${origin}/`],
    });
    try {
      return await measure(async (i) => {
        const url = `${origin}/p${i}`;
        hostLimits.acquire(origin);
        try {
          const res = await fetcher.fetch(crawlRequest(url));
          if (res.status !== 200) throw new Error(`status ${res.status}`);
        } finally {
          hostLimits.release(origin);
        }
      });
    } finally {
      await fetcher.close();
    }
  }

  // One warm-up of each, not counted.
  await bare();
  await trawl();
  const results = { bare: [], trawl: [] };
  for (let round = 0; round < ROUNDS; round++) {
    results.bare.push(await bare());
    results.trawl.push(await trawl());
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (xs) => xs.map((x) => Math.round(x)).join(', ');
  console.log(`concurrency ${CONCURRENCY}, ${REQUESTS} requests per round, ${ROUNDS} rounds`);
  for (const name of ['bare', 'trawl']) {
    const rps = results[name].map((r) => r.rps);
    const cpu = results[name].map((r) => r.cpuUs);
    console.log(
      `${name === 'bare' ? 'bare undici  ' : 'trawl fetcher'} req/s: ${fmt(rps)} (median ${Math.round(median(rps))}); client CPU us/req: ${fmt(cpu)}`,
    );
  }
  const ratios = results.trawl.map((t, i) => t.rps / results.bare[i].rps);
  console.log(
    `trawl / bare per round: ${ratios.map((r) => `${(r * 100).toFixed(1)}%`).join(', ')}  (median ${(median(ratios) * 100).toFixed(1)}%)`,
  );
  child.disconnect();
}
