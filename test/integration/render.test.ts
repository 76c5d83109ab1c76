import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  crawl,
  type CrawlOptions,
  type FailureRecord,
  type Item,
  type Page,
  type Spider,
} from '../../src/index.js';
import { findChromium } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

const chromium = findChromium();
if (!chromium) console.warn('render tests skipped: no Chromium (set CHROMIUM_PATH or put chromium on PATH)');

/** A page whose heading only exists once its script ran. */
const scripted = (text: string) =>
  `<!doctype html><title>t</title><div id="app"></div>
<script>setTimeout(() => { document.getElementById('app').innerHTML = '<h1>${text}</h1>'; }, 20);</script>`;

interface Seen {
  path: string;
  at: number;
  cookie: string | undefined;
  header: string | undefined;
}

function site(seen: Seen[]) {
  let open = 0;
  const stats = { maxOpen: 0 };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({
      path: url.pathname,
      at: performance.now(),
      cookie: req.headers.cookie,
      header: req.headers['x-request-header'] as string | undefined,
    });
    const html = (body: string, headers: Record<string, string> = {}) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers });
      res.end(body);
    };
    if (url.pathname === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('User-agent: *\nDisallow: /private\n');
    }
    if (url.pathname === '/hang') return html('<!doctype html><script>for (;;) {}</script>');
    if (url.pathname === '/dom-bomb')
      return html(
        `<!doctype html><body><script>document.body.innerHTML = '<h1>big</h1>' + '<p>filler</p>'.repeat(200000);</script>`,
      );
    if (url.pathname.startsWith('/slow/')) {
      open++;
      stats.maxOpen = Math.max(stats.maxOpen, open);
      setTimeout(() => {
        open--;
        html(scripted(url.pathname));
      }, 150);
      return;
    }
    if (url.pathname.startsWith('/cookie/')) return html(scripted(url.pathname), { 'set-cookie': 'seen=1' });
    if (url.pathname === '/login')
      return html('<a href="/scripted-cookie">on</a>', { 'set-cookie': 'session=s1; Path=/; HttpOnly' });
    if (url.pathname === '/scripted-cookie')
      return html(`<!doctype html><div id="app"></div><a href="/after-render">on</a>
<script>document.cookie = 'chosen=blue; path=/'; document.getElementById('app').innerHTML = '<h1>set</h1>';</script>`);
    if (url.pathname === '/pixel.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      return res.end();
    }
    if (url.pathname === '/with-image')
      return html(`<img src="/pixel.png"><link rel="stylesheet" href="/style.css">${scripted('imaged')}`);
    const busy = /^\/busy\/(\d+)$/.exec(url.pathname);
    if (busy) {
      // Answered at once; the page's own script then takes its time (long from the fifth page on).
      const ms = Number(busy[1]) < 4 ? 10 : 1200;
      return html(`<!doctype html><div id="app"></div>
<script>setTimeout(() => { document.getElementById('app').innerHTML = '<h1>busy</h1>'; }, ${ms});</script>`);
    }
    return html(scripted(url.pathname));
  };
  return { handler, stats };
}

async function run(spider: Spider, options: CrawlOptions) {
  const job = crawl(spider, { workers: 0, retries: 0, ...options });
  const failures: FailureRecord[] = [];
  job.events.on('failure', (f) => failures.push(f));
  const items: Item[] = [];
  for await (const item of job) items.push(item);
  return { items, failures, stats: await job.finished };
}

const headings: Spider = {
  name: 'headings',
  settings: { render: true, browser: { executablePath: chromium ?? 'chromium' } },
  *parse(page: Page) {
    yield { path: new URL(page.url).pathname, h1: page.$('h1').text() || null };
  },
};

describe.skipIf(!chromium)('rendering in Chromium', () => {
  let server: TestServer;
  const seen: Seen[] = [];
  const { handler, stats } = site(seen);
  const url = (path: string) => new URL(path, server.url).href;
  beforeAll(async () => {
    server = await startServer(handler);
  });
  afterAll(() => server.close());

  it('hands the callback the DOM after the scripts ran; render: false on a request fetches it plainly', async () => {
    const { items, failures } = await run(headings, {
      start: [url('/a'), { url: url('/b'), render: false }],
    });
    expect(failures).toEqual([]);
    expect(items.sort((x, y) => String(x.path).localeCompare(String(y.path)))).toEqual([
      { path: '/a', h1: '/a' },
      { path: '/b', h1: null },
    ]);
  });

  it('blocks images by default and lets stylesheets through', async () => {
    seen.length = 0;
    const { items } = await run(headings, { start: [url('/with-image')] });
    expect(items).toEqual([{ path: '/with-image', h1: 'imaged' }]);
    const paths = seen.map((s) => s.path);
    expect(paths).toContain('/style.css');
    expect(paths).not.toContain('/pixel.png');
  });

  it('obeys robots.txt: a disallowed page is a recorded failure and never reaches the browser', async () => {
    seen.length = 0;
    const { items, failures } = await run(headings, { start: [url('/private/x'), url('/public')] });
    expect(items).toEqual([{ path: '/public', h1: '/public' }]);
    expect(failures.map((f) => [f.url, f.error.code])).toEqual([[url('/private/x'), 'TRAWL_ERR_ROBOTS']]);
    expect(seen.map((s) => s.path)).not.toContain('/private/x');
  });

  it('keeps the per-host gap between page loads, as the server sees them', async () => {
    seen.length = 0;
    const start = ['/g1', '/g2', '/g3', '/g4'].map(url);
    const { items } = await run(headings, { start, perHost: { concurrency: 2, delayMs: 250 } });
    expect(items).toHaveLength(4);
    const loads = seen.filter((s) => s.path.startsWith('/g')).map((s) => s.at);
    expect(loads).toHaveLength(4);
    for (let i = 1; i < loads.length; i++) expect(loads[i]! - loads[i - 1]!).toBeGreaterThanOrEqual(245);
  });

  it('judges the host by its answers, not by how long the scripts of its pages ran: a slow page does not throttle a fast server', async () => {
    const job = crawl(
      { ...headings, settings: { ...headings.settings, render: { waitFor: 'h1' } } },
      { workers: 0, retries: 0, start: Array.from({ length: 12 }, (_, i) => url(`/busy/${i}`)) },
    );
    const throttled: string[] = [];
    job.events.on('response', () => {
      for (const host of job.hosts()) if (host.throttled) throttled.push(`${host.origin} ${host.delayMs} ms`);
    });
    let items = 0;
    for await (const item of job) if (item.h1 === 'busy') items++;
    expect(items).toBe(12);
    expect(throttled).toEqual([]);
  });

  it('renders at most `browser.contexts` pages at once', async () => {
    stats.maxOpen = 0;
    const spider = { ...headings, settings: { ...headings.settings, browser: { contexts: 1 } } };
    const start = ['/slow/1', '/slow/2', '/slow/3', '/slow/4'].map(url);
    const { items } = await run(spider, { start, perHost: { concurrency: 4 } });
    expect(items).toHaveLength(4);
    expect(stats.maxOpen).toBe(1);
  });

  it('shares one cookie session between plain and rendered pages, both ways', async () => {
    seen.length = 0;
    const spider: Spider = {
      name: 'session',
      settings: { browser: { executablePath: chromium ?? 'chromium' } },
      *parse(page: Page) {
        const path = new URL(page.url).pathname;
        yield { path, h1: page.$('h1').text() || null };
        // The login answer is fetched plainly; the next page renders; the one after is plain again.
        if (path === '/login') yield page.follow('/scripted-cookie', { render: { waitFor: 'h1' } });
        if (path === '/scripted-cookie') yield page.follow('/after-render');
      },
    };
    const { items, failures } = await run(spider, { start: [url('/login')] });
    expect(failures).toEqual([]);
    expect(items.map((i) => i.path)).toEqual(['/login', '/scripted-cookie', '/after-render']);
    const cookieOf = (path: string) => seen.find((s) => s.path === path)?.cookie;
    // The browser sent the session the plain login answer set (an HttpOnly cookie) ...
    expect(cookieOf('/scripted-cookie')).toBe('session=s1');
    // ... and the plain request after it sends the cookie the page's script set.
    expect(cookieOf('/after-render')?.split('; ').sort()).toEqual(['chosen=blue', 'session=s1']);
  });

  it('replaces a context after pagesPerContext pages (without a crawl cookie jar, a fresh context has no cookies)', async () => {
    seen.length = 0;
    const spider = {
      ...headings,
      settings: { ...headings.settings, browser: { contexts: 1, pagesPerContext: 2 } },
    };
    const start = ['/cookie/1', '/cookie/2', '/cookie/3', '/cookie/4'].map(url);
    await run(spider, { start, perHost: { concurrency: 1 }, cookies: false });
    const cookies = seen.filter((s) => s.path.startsWith('/cookie/')).map((s) => s.cookie ?? null);
    expect(cookies).toEqual([null, 'seen=1', null, 'seen=1']);
  });

  it("sends a request's own headers with its page only, not with the next page loaded in the same context", async () => {
    seen.length = 0;
    const spider = { ...headings, settings: { ...headings.settings, browser: { contexts: 1 } } };
    const start = [
      { url: url('/h/1'), headers: { 'x-request-header': 'one' } },
      { url: url('/h/2') },
      { url: url('/h/3'), headers: { 'x-request-header': 'three' } },
    ];
    const { items } = await run(spider, { start, perHost: { concurrency: 1 } });
    expect(items).toHaveLength(3);
    const sent = seen.filter((s) => s.path.startsWith('/h/')).map((s) => [s.path, s.header ?? null]);
    expect(sent).toEqual([
      ['/h/1', 'one'],
      ['/h/2', null],
      ['/h/3', 'three'],
    ]);
  });

  it('a script that builds a DOM over the body cap fails the page, and the crawl goes on', async () => {
    const { items, failures } = await run(headings, {
      start: [url('/dom-bomb'), url('/after-bomb')],
      maxBodyBytes: 1_000_000,
    });
    expect(items).toEqual([{ path: '/after-bomb', h1: '/after-bomb' }]);
    expect(failures.map((f) => [f.url, f.error.code, f.error.message])).toEqual([
      [url('/dom-bomb'), 'TRAWL_ERR_BODY_TOO_LARGE', 'rendered body exceeds the cap of 1000000 bytes'],
    ]);
  });

  it('a page that hangs the renderer is a timeout failure and the crawl goes on', async () => {
    const { items, failures } = await run(headings, {
      start: [url('/hang'), url('/after-hang')],
      timeouts: { totalMs: 3000 },
    });
    expect(items).toEqual([{ path: '/after-hang', h1: '/after-hang' }]);
    expect(failures.map((f) => [f.url, f.error.code])).toEqual([[url('/hang'), 'TRAWL_ERR_TIMEOUT']]);
  });

  it('a selector that never appears fails the page with a render error', async () => {
    const { items, failures } = await run(headings, {
      start: [{ url: url('/w'), render: { waitFor: '.never' } }],
      timeouts: { totalMs: 2000 },
    });
    expect(items).toEqual([]);
    expect(failures[0]?.error.code).toMatch(/TRAWL_ERR_(RENDER|TIMEOUT)/);
  });

  it('hands the callback a full-page PNG when asked', async () => {
    const spider: Spider = {
      ...headings,
      *parse(page: Page) {
        const png = page.screenshot;
        yield { bytes: png ? png.byteLength > 100 : false, signature: png ? [...png.subarray(1, 4)] : null };
      },
    };
    const { items } = await run(spider, { start: [{ url: url('/shot'), render: { screenshot: true } }] });
    expect(items).toEqual([{ bytes: true, signature: [0x50, 0x4e, 0x47] }]);
  });
});

describe('rendering without a browser', () => {
  it('records a clear failure for each rendered page when Chromium is not where the setting says', async () => {
    const seen: Seen[] = [];
    const server = await startServer(site(seen).handler);
    try {
      const spider: Spider = {
        ...headings,
        settings: { render: true, browser: { executablePath: '/nonexistent/chromium' } },
      };
      const { items, failures } = await run(spider, { start: [new URL('/x', server.url).href] });
      expect(items).toEqual([]);
      expect(failures.map((f) => f.error.code)).toEqual(['TRAWL_ERR_BROWSER']);
      expect(failures[0]!.error.message).toContain('/nonexistent/chromium');
    } finally {
      await server.close();
    }
  });
});
