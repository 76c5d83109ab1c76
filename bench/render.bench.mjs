// Rendering in Chromium against the plain fetch path, on the same pages. A site of PAGES scripted
// pages (each inserts its heading from a fetched JSON, as the demo's event pages do) is served by
// this process; each mode crawls it in its own child process:
//   plain     trawl's undici fetcher, 2 parser threads
//   rendered  the same crawl with render: { waitFor: 'h1' }, browser.contexts 2
// Peak RSS is the child and every process under it (Chromium's browser, GPU, network and renderer
// processes), sampled every 200 ms from /proc (as PSS, see treeRss). A third child measures memory per open context:
// Chromium's tree RSS with 0, 1, 2, 4 and 8 contexts, each with one page of the site open.
import { createServer } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { childFigures } from './child.mjs';

const PAGES = Number(process.env.RENDER_PAGES ?? 60);
const LIMIT_MS = 180_000;

/**
 * Memory in bytes of `root` and every process under it: the sum of PSS (shared pages divided among
 * the processes sharing them), since Chromium's processes share most of their pages and a sum of
 * RSS counts those once per process.
 */
function treeRss(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // gone
    }
  }
  let total = 0;
  const queue = [root];
  while (queue.length) {
    const pid = queue.pop();
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      total += Number(/Pss:\s+(\d+)/.exec(rollup)?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}

const mb = (bytes) => Math.round(bytes / 1024 / 1024);

function site() {
  return createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/robots.txt') return res.end('');
    const api = /^\/api\/(\d+)$/.exec(url.pathname);
    if (api) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ title: `Page ${api[1]}` }));
    }
    const page = /^\/p\/(\d+)$/.exec(url.pathname);
    if (!page) {
      res.writeHead(404);
      return res.end();
    }
    const n = Number(page[1]);
    const links = [1, 2].map((k) => n * 2 + k).filter((m) => m < PAGES);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>p${n}</title>${links.map((m) => `<a href="/p/${m}">p${m}</a>`).join(' ')}
<div id="app"></div><p>${'filler text '.repeat(80)}</p>
<script>fetch('/api/${n}').then((r) => r.json()).then((d) => { document.getElementById('app').innerHTML = '<h1>' + d.title + '</h1>'; });</script>`);
  });
}

async function crawlChild(mode, origin) {
  const { crawl } = await import('../dist/index.js');
  let peak = treeRss(process.pid);
  const sampler = setInterval(() => (peak = Math.max(peak, treeRss(process.pid))), 200);
  const spider = {
    name: 'bench',
    settings: mode === 'rendered' ? { render: { waitFor: 'h1' }, browser: { contexts: 2 } } : {},
    *parse(page) {
      yield { title: page.$('h1').text() };
      yield* page.followAll('a');
    },
  };
  const started = performance.now();
  let items = 0;
  let titled = 0;
  const job = crawl(spider, {
    start: [`${origin}/p/0`],
    workers: 2,
    concurrency: 8,
    perHost: { concurrency: 8 },
  });
  job.events.on('failure', (f) => console.error('failure', f.url, f.error.code, f.error.message));
  for await (const item of job) {
    items++;
    if (item.title) titled++;
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const stats = await job.finished;
  return {
    mode,
    pages: stats.pages,
    titled,
    items,
    seconds,
    pagesPerSecond: stats.pages / seconds,
    peakRssMb: mb(peak),
  };
}

async function contextsChild(origin) {
  const { chromium } = await import('playwright-core');
  const { findChromium } = await import('../dist/render/find-chromium.js');
  const browser = await chromium.launch({
    executablePath: findChromium(undefined),
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const settle = () => new Promise((r) => setTimeout(r, 500));
  await settle();
  const base = treeRss(process.pid);
  const rows = [];
  const open = [];
  for (const target of [1, 2, 4, 8]) {
    while (open.length < target) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${origin}/p/${open.length}`);
      await page.waitForSelector('h1');
      open.push(context);
    }
    await settle();
    const rss = treeRss(process.pid);
    rows.push({
      contexts: target,
      treeMb: mb(rss),
      perContextMb: Math.round(((rss - base) / target / 1024 / 1024) * 10) / 10,
    });
  }
  await browser.close();
  return { baseMb: mb(base), rows };
}

const [, , role, arg, origin] = process.argv;
if (role === 'child') {
  const figures = arg === 'contexts' ? await contextsChild(origin) : await crawlChild(arg, origin);
  console.log(JSON.stringify(figures));
  process.exit(0);
}

const server = site();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const root = `http://127.0.0.1:${server.address().port}`;
const script = new URL(import.meta.url).pathname;
try {
  for (const round of [1, 2]) {
    for (const mode of ['plain', 'rendered']) {
      const f = await childFigures(script, ['child', mode, root], LIMIT_MS);
      console.log(
        `round ${round} ${mode.padEnd(8)} ${f.pages} pages (${f.titled} with the scripted heading) in ${f.seconds.toFixed(2)} s: ${f.pagesPerSecond.toFixed(1)} pages/s, peak ${f.peakRssMb} MB (PSS of the process tree)`,
      );
    }
  }
  const c = await childFigures(script, ['child', 'contexts', root], LIMIT_MS);
  console.log(`Chromium alone: ${c.baseMb} MB`);
  for (const row of c.rows)
    console.log(
      `${row.contexts} open contexts (one page each): tree ${row.treeMb} MB, ${row.perContextMb} MB a context`,
    );
} finally {
  server.close();
}
