// Distributed crawl scaling: 1, 2 and 3 processes on one crawl id against a site whose pages take
// 50 ms to answer, each process limited to 4 fetches in flight, so a process is bound by latency,
// not CPU, as crawlers spread over machines are. Needs Redis: REDIS_URL (default redis://127.0.0.1:6379).
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { childFigures } from './child.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PAGES = Number(process.env.BENCH_PAGES ?? 1500);
const LATENCY_MS = 50;
const CHILD_LIMIT_MS = 120_000;

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
    concurrency: 4,
    perHost: { concurrency: 64 },
    distributed: { redis: REDIS_URL, crawlId },
  });
  let items = 0;
  for await (const _ of job) items++;
  const stats = await job.finished;
  console.log(JSON.stringify({ items, pages: stats.pages, stopReason: stats.stopReason }));
} else {
  const { deleteSharedCrawl } = await import('../dist/index.js');
  try {
    await deleteSharedCrawl(REDIS_URL, `bench-${process.pid}-probe`);
  } catch (error) {
    console.log(`distributed: skipped, no Redis at ${REDIS_URL} (${error.message})`);
    process.exit(0);
  }
  // A 4-ary tree of PAGES pages, each answered after LATENCY_MS.
  const server = createServer((req, res) => {
    const m = /^\/n\/(\d+)$/.exec(req.url ?? '');
    const i = m ? Number(m[1]) : -1;
    if (i < 0 || i >= PAGES) return res.writeHead(404).end();
    const links = [1, 2, 3, 4].map((k) => 4 * i + k).filter((c) => c < PAGES);
    setTimeout(() => {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<h1>${i}</h1>${links.map((c) => `<a href="/n/${c}">${c}</a>`).join('')}`);
    }, LATENCY_MS);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const start = `http://127.0.0.1:${server.address().port}/n/0`;
  const self = fileURLToPath(import.meta.url);
  console.log(`distributed: ${PAGES} pages, ${LATENCY_MS} ms each, 4 fetches in flight per process`);
  let base;
  for (const processes of [1, 2, 3]) {
    const crawlId = `bench-${process.pid}-${processes}`;
    await deleteSharedCrawl(REDIS_URL, crawlId);
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: processes }, () =>
        childFigures(self, ['--child', start, crawlId], CHILD_LIMIT_MS),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    await deleteSharedCrawl(REDIS_URL, crawlId);
    const items = results.reduce((sum, r) => sum + r.items, 0);
    const rate = items / seconds;
    base ??= rate;
    console.log(
      `${processes} process(es): ${items} items (${results.map((r) => r.items).join(' + ')}) in ${seconds.toFixed(1)} s, ${rate.toFixed(0)} pages/s, ${(rate / base).toFixed(2)}x`,
    );
  }
  server.closeAllConnections();
  server.close();
}
