import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crawl, defineSpider, type FailureRecord } from '../../src/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

const HEALTHY = 20;

/**
 * One origin where two URLs never answer, one sends its body a byte at a time, twenty pages are
 * healthy and one answers 503 with Retry-After: 2 once. Arrivals are stamped by the server.
 */
describe('one slow URL never stalls its host', () => {
  let server: TestServer;
  const arrivals: Array<{ path: string; atMs: number }> = [];
  let t0 = 0;
  beforeAll(async () => {
    let busyServed = false;
    server = await startServer((req: IncomingMessage, res: ServerResponse) => {
      const path = req.url ?? '/';
      arrivals.push({ path, atMs: performance.now() - t0 });
      if (path === '/robots.txt') return void res.writeHead(404).end();
      if (path === '/') {
        const links = ['/hang/1', '/hang/2', '/trickle/1']
          .concat(
            Array.from({ length: HEALTHY }, (_, i) => `/p/${i + 1}`),
            '/busy',
          )
          .map((href) => `<a href="${href}">${href}</a>`);
        return void res.writeHead(200, { 'content-type': 'text/html' }).end(links.join(''));
      }
      if (path.startsWith('/hang/')) return;
      if (path.startsWith('/trickle/')) {
        res.writeHead(200, { 'content-type': 'text/html' });
        const timer = setInterval(() => res.write('x'), 100);
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (path === '/busy' && !busyServed) {
        busyServed = true;
        return void res.writeHead(503, { 'retry-after': '2' }).end('busy');
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end('<title>ok</title>');
    });
  });
  afterAll(() => server.close());

  it('fetches the healthy pages at once, retries a 503 on its Retry-After, and fails the bad URLs in their budget', async () => {
    // Default settings but shorter timeouts, so the bad URLs' budget is seconds, not minutes.
    const timeouts = { headersMs: 1500, totalMs: 2500 };
    const job = crawl(
      defineSpider({
        name: 'slow',
        startUrls: [server.url],
        *parse(page) {
          yield { url: page.url };
          yield* page.followAll();
        },
      }),
      { timeouts, retries: 2 },
    );
    const failures: FailureRecord[] = [];
    job.events.on('failure', (f) => failures.push(f));
    t0 = performance.now();
    const stats = await job.pipeTo();
    const elapsedMs = performance.now() - t0;
    const at = (prefix: string) => arrivals.filter((a) => a.path.startsWith(prefix)).map((a) => a.atMs);

    const healthy = at('/p/');
    expect(healthy).toHaveLength(HEALTHY);
    // Well before the first bad URL's timeout: they never held the host's turns.
    expect(Math.max(...healthy)).toBeLessThan(1000);
    const busy = at('/busy');
    expect(busy).toHaveLength(2);
    expect(busy[1]! - busy[0]!).toBeGreaterThanOrEqual(1900);
    expect(busy[1]! - busy[0]!).toBeLessThan(3000);
    expect(stats.items).toBe(HEALTHY + 2);

    expect(failures.map((f) => new URL(f.url).pathname).sort()).toEqual(['/hang/1', '/hang/2', '/trickle/1']);
    for (const f of failures) {
      expect(f.error.code).toBe('TRAWL_ERR_TIMEOUT');
      expect(f.attempts).toBe(3);
    }
    // Three attempts of at most 2.5 s each, plus up to 0.5 + 1 s of backoff.
    expect(elapsedMs).toBeLessThan(3 * 2500 + 1500 + 1500);
  }, 30_000);
});
