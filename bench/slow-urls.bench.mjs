// One slow URL must never stall its host. A site on one origin where two URLs never answer, one
// sends its body a byte every 500 ms, one answers 503 with Retry-After: 2 once, and 20 pages are
// healthy; crawled with default settings. The server (a child process, its own clock) stamps every
// arrival; the figures are when the healthy pages were fetched, how long after the 503 its retry
// came, and when the bad URLs ended as failures. BENCH_DIST points at another build to compare.
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HEALTHY = 20;
const TIME_LIMIT_MS = Number(process.env.BENCH_TIME_LIMIT_MS ?? 400_000);

if (process.argv[2] === 'server') {
  const { createServer } = await import('node:http');
  const t0 = performance.now();
  const log = [];
  let busyServed = false;
  const page = (body) => `<!doctype html><html><head><title>t</title></head><body>${body}</body></html>`;
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/log') return res.end(JSON.stringify(log));
    log.push({ path, atMs: performance.now() - t0 });
    if (path === '/robots.txt') return res.writeHead(404).end();
    if (path === '/') {
      const links = ['/hang/1', '/hang/2', '/trickle/1', '/busy']
        .concat(Array.from({ length: HEALTHY }, (_, i) => `/p/${i + 1}`))
        .map((href) => `<a href="${href}">${href}</a>`);
      return res.writeHead(200, { 'content-type': 'text/html' }).end(page(links.join('')));
    }
    if (path.startsWith('/hang/')) return; // never answers
    if (path.startsWith('/trickle/')) {
      res.writeHead(200, { 'content-type': 'text/html' });
      const timer = setInterval(() => res.write('x'), 500);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (path === '/busy' && !busyServed) {
      busyServed = true;
      return res.writeHead(503, { 'retry-after': '2' }).end('busy');
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(page('<p>ok</p>'));
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
} else {
  const dist = process.env.BENCH_DIST ?? fileURLToPath(new URL('../dist/', import.meta.url));
  const { crawl } = await import(pathToFileURL(`${dist}/index.js`).href);
  const child = fork(fileURLToPath(import.meta.url), ['server'], { stdio: 'inherit' });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const origin = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const failures = [];
  const job = crawl(
    {
      name: 'slow-urls',
      startUrls: [`${origin}/`],
      *parse(page) {
        yield { url: page.url };
        yield* page.followAll();
      },
    },
    { timeLimitMs: TIME_LIMIT_MS },
  );
  job.events.on('failure', (f) =>
    failures.push({
      path: new URL(f.url).pathname,
      code: f.error.code,
      attempts: f.attempts,
      atMs: performance.now() - started,
    }),
  );
  const stats = await job.pipeTo();
  const log = await (await fetch(`${origin}/log`)).json();
  child.kill();
  const arrivals = (prefix) => log.filter((e) => e.path.startsWith(prefix)).map((e) => e.atMs);
  const healthy = arrivals('/p/');
  const busy = arrivals('/busy');
  const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
  console.log(`healthy pages fetched: ${healthy.length}/${HEALTHY}, last at ${s(Math.max(...healthy))}`);
  console.log(`503 retry came ${busy.length > 1 ? s(busy[1] - busy[0]) : 'never'} after the 503`);
  for (const f of failures)
    console.log(`failed ${f.path} ${f.code} after ${f.attempts} attempts at ${s(f.atMs)}`);
  console.log(
    `attempts: hang ${arrivals('/hang/').length}, trickle ${arrivals('/trickle/').length}; stop ${stats.stopReason} at ${s(stats.elapsedMs)}, items ${stats.items}`,
  );
}
