// Distributed crawl scaling: 1 and 3 processes on one crawl id against 20 loopback hosts
// (127.0.0.1 to 127.0.0.20), every page answered after 50 ms, each process limited to 8 fetches in
// flight and every host to 2 at a time, so a process is bound by latency, not CPU, as crawlers
// spread over machines are. The server counts requests in flight per host, across all processes:
// the per-host limit must hold. Pages/s is taken over the server's window (first to last request),
// beside the wall time with process start-up; each process reports its CPU time.
// Needs Redis: REDIS_URL (default redis://127.0.0.1:6379). BENCH_PAGES (default 3000).
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { childFigures } from './child.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PAGES = Number(process.env.BENCH_PAGES ?? 3000);
const HOSTS = 20;
const LATENCY_MS = 50;
const PER_PROCESS = 8;
const PER_HOST = 2;
const CHILD_LIMIT_MS = 180_000;

const hostOf = (i) => `127.0.0.${(i % HOSTS) + 1}`;

if (process.argv[2] === '--child') {
  const [, , , start, crawlId] = process.argv;
  const { crawl } = await import('../dist/index.js');
  const spider = {
    name: 'tree',
    *parse(page) {
      yield { id: Number(page.$('h1').text()) };
      yield* page.followAll('a');
    },
  };
  const job = crawl(spider, {
    start: [start],
    workers: 0,
    concurrency: PER_PROCESS,
    perHost: { concurrency: PER_HOST },
    allowedHosts: Array.from({ length: HOSTS }, (_, i) => hostOf(i)),
    obeyRobotsTxt: false,
    distributed: { redis: REDIS_URL, crawlId },
  });
  let items = 0;
  for await (const _ of job) items++;
  const stats = await job.finished;
  const cpu = process.cpuUsage();
  console.log(
    JSON.stringify({
      items,
      pages: stats.pages,
      stopReason: stats.stopReason,
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      wallMs: Math.round(performance.now()),
    }),
  );
} else {
  const { deleteSharedCrawl } = await import('../dist/index.js');
  try {
    await deleteSharedCrawl(REDIS_URL, `bench-${process.pid}-probe`);
  } catch (error) {
    console.log(`distributed: skipped, no Redis at ${REDIS_URL} (${error.message})`);
    process.exit(0);
  }
  // One server per loopback address, all on the same port; a 4-ary tree of PAGES pages whose
  // children are spread over the hosts.
  const active = new Map();
  const maxActive = new Map();
  let first = 0;
  let last = 0;
  let port = 0;
  const servers = [];
  for (let h = 0; h < HOSTS; h++) {
    const host = `127.0.0.${h + 1}`;
    const server = createServer((req, res) => {
      const m = /^\/n\/(\d+)$/.exec(req.url ?? '');
      const i = m ? Number(m[1]) : -1;
      if (i < 0 || i >= PAGES) return res.writeHead(404).end();
      const now = performance.now();
      first ||= now;
      last = now;
      active.set(host, (active.get(host) ?? 0) + 1);
      maxActive.set(host, Math.max(maxActive.get(host) ?? 0, active.get(host)));
      const links = [1, 2, 3, 4].map((k) => 4 * i + k).filter((c) => c < PAGES);
      setTimeout(() => {
        active.set(host, active.get(host) - 1);
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(
            `<h1>${i}</h1>${links.map((c) => `<a href="http://${hostOf(c)}:${port}/n/${c}">${c}</a>`).join('')}`,
          );
      }, LATENCY_MS);
    });
    server.keepAliveTimeout = 30_000;
    await new Promise((resolve) => server.listen(port, host, resolve));
    port ||= server.address().port;
    servers.push(server);
  }
  const start = `http://${hostOf(0)}:${port}/n/0`;
  const self = fileURLToPath(import.meta.url);
  console.log(
    `distributed: ${PAGES} pages on ${HOSTS} loopback hosts, ${LATENCY_MS} ms each, ${PER_PROCESS} fetches a process, ${PER_HOST} a host`,
  );
  let base;
  for (const processes of [1, 3]) {
    const crawlId = `bench-${process.pid}-${processes}`;
    await deleteSharedCrawl(REDIS_URL, crawlId);
    first = 0;
    maxActive.clear();
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: processes }, () =>
        childFigures(self, ['--child', start, crawlId], CHILD_LIMIT_MS),
      ),
    );
    const wallS = (performance.now() - t0) / 1000;
    const windowS = (last - first) / 1000;
    await deleteSharedCrawl(REDIS_URL, crawlId);
    const items = results.reduce((sum, r) => sum + r.items, 0);
    const rate = PAGES / windowS;
    base ??= rate;
    const hostMax = Math.max(...maxActive.values());
    console.log(
      `${processes} process(es): ${items} items (${results.map((r) => r.items).join(' + ')}), server window ${windowS.toFixed(2)} s: ${rate.toFixed(0)} pages/s, ${(rate / base).toFixed(2)}x; wall ${wallS.toFixed(1)} s; most in flight on one host ${hostMax} (limit ${PER_HOST}); CPU ms a process ${results.map((r) => r.cpuMs).join(' / ')}`,
    );
  }
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
}
