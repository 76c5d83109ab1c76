import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  BlockedAddressError,
  fetchPage,
  HttpStatusError,
  InvalidUrlError,
  OptionError,
  RobotsDisallowedError,
  TimeoutError,
} from '../../src/index.js';
import { type HostRecord, recordingServer } from '../helpers/recorder.js';
import type { TestServer } from '../helpers/server.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

type Route = (req: IncomingMessage, res: ServerResponse, record: HostRecord) => void;

async function site(routes: Record<string, Route>) {
  const server = await recordingServer('127.0.0.1', (req, res, record) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes[path];
    if (route) route(req, res, record);
    else res.writeHead(404).end();
  });
  servers.push(server);
  return server;
}

const robots =
  (text: string): Route =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
  };

describe('fetchPage', () => {
  it('fetches a page as a crawl does: robots.txt first, redirects, charset, decoded text', async () => {
    const server = await site({
      '/robots.txt': robots('User-agent: *\nDisallow: /private\n'),
      '/old': (_req, res) => res.writeHead(301, { location: '/new' }).end(),
      '/new': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=windows-1252', 'x-served': 'yes' });
        res.end(Buffer.from([0x3c, 0x70, 0x3e, 0x80, 0x20, 0x93, 0x6f, 0x6b, 0x94]));
      },
    });
    const page = await fetchPage(`${server.origin}/old`);
    expect(page).toMatchObject({
      url: `${server.origin}/new`,
      status: 200,
      encoding: 'windows-1252',
      text: '<p>€ “ok”',
      redirects: [`${server.origin}/old`],
      attempts: 1,
    });
    expect(page.headers['x-served']).toBe('yes');
    expect(page.body).toBeInstanceOf(Uint8Array);
    expect(server.record.paths).toEqual(['/robots.txt', '/old', '/new']);
  });

  it('obeys robots.txt', async () => {
    const server = await site({ '/robots.txt': robots('User-agent: *\nDisallow: /private\n') });
    await expect(fetchPage(`${server.origin}/private/x`)).rejects.toBeInstanceOf(RobotsDisallowedError);
    expect(server.record.paths).toEqual(['/robots.txt']);
  });

  it('keeps the per-host gap between robots.txt and the page', async () => {
    const server = await site({
      '/robots.txt': robots(''),
      '/page': (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
    });
    const started = performance.now();
    await fetchPage(`${server.origin}/page`, { perHost: { delayMs: 500 } });
    const elapsedMs = performance.now() - started;
    // One gap, and only one: robots.txt goes at once, the page a gap later.
    expect(elapsedMs).toBeGreaterThanOrEqual(500);
    expect(elapsedMs).toBeLessThan(900);
    // The server's clock shares this event loop, so it may see the first request late.
    const [robotsAt, pageAt] = server.record.starts as [number, number];
    expect(pageAt - robotsAt).toBeGreaterThanOrEqual(400);
  });

  it('retries a retryable answer on the backoff, and fails with the error once retries are spent', async () => {
    let calls = 0;
    const server = await site({
      '/robots.txt': robots(''),
      '/busy': (_req, res) => {
        calls++;
        if (calls === 1) res.writeHead(503, { 'retry-after': '0' }).end();
        else res.writeHead(200, { 'content-type': 'text/plain' }).end('done');
      },
      '/down': (_req, res) => res.writeHead(500).end(),
    });
    const page = await fetchPage(`${server.origin}/busy`, { perHost: { delayMs: 300 } });
    expect(page).toMatchObject({ status: 200, text: 'done', attempts: 2 });
    // Retry-After: 0 lets the retry go at once, but not closer to the first try than the gap.
    const [, first, second] = server.record.starts as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(200);
    const error = await fetchPage(`${server.origin}/down`, {
      retries: 1,
      backoff: { baseMs: 10 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect(error).toMatchObject({ status: 500 });
    expect(server.record.paths.filter((p) => p === '/down')).toHaveLength(2);
  });

  it('hands an accepted error status back instead of failing', async () => {
    const server = await site({
      '/robots.txt': robots(''),
      '/gone': (_req, res) => res.writeHead(410, { 'content-type': 'text/html' }).end('<p>gone</p>'),
    });
    const page = await fetchPage(`${server.origin}/gone`, { acceptStatus: [410] });
    expect(page).toMatchObject({ status: 410, text: '<p>gone</p>' });
  });

  it('sends a JSON body', async () => {
    let received = '';
    const server = await site({
      '/robots.txt': robots(''),
      '/api': (req, res) => {
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (received += chunk));
        req.on('end', () =>
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ method: req.method, type: req.headers['content-type'] })),
        );
      },
    });
    const page = await fetchPage(`${server.origin}/api`, { json: { q: 'lamp' } });
    expect(JSON.parse(page.text)).toEqual({ method: 'POST', type: 'application/json' });
    expect(received).toBe('{"q":"lamp"}');
  });

  it('refuses a private address unless allowed, like a crawl', async () => {
    const server = await site({});
    await expect(
      fetchPage(`${server.origin}/x`, { allowPrivateNetwork: false, obeyRobotsTxt: false }),
    ).rejects.toBeInstanceOf(BlockedAddressError);
    expect(server.record.paths).toEqual([]);
  });

  it('times out a server that never answers', async () => {
    const server = await site({ '/robots.txt': robots(''), '/hang': () => undefined });
    const started = performance.now();
    const error = await fetchPage(`${server.origin}/hang`, {
      retries: 0,
      timeouts: { headersMs: 200 },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('stops at the signal, in a retry wait too', async () => {
    const server = await site({
      '/robots.txt': robots(''),
      '/busy': (_req, res) => res.writeHead(503, { 'retry-after': '30' }).end(),
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = performance.now();
    await expect(fetchPage(`${server.origin}/busy`, { signal: controller.signal })).rejects.toBeInstanceOf(
      AbortedError,
    );
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('rejects what is not a fetch setting, and a URL it cannot fetch', async () => {
    await expect(fetchPage('http://127.0.0.1:9/', { maxPages: 3 } as never)).rejects.toBeInstanceOf(
      OptionError,
    );
    await expect(fetchPage('http://127.0.0.1:9/', { retries: -1 })).rejects.toMatchObject({
      code: 'TRAWL_ERR_OPTION',
      message: expect.stringContaining('retries'),
    });
    await expect(fetchPage('ftp://example.com/x')).rejects.toBeInstanceOf(InvalidUrlError);
    await expect(fetchPage('not a url')).rejects.toBeInstanceOf(InvalidUrlError);
  });
});
