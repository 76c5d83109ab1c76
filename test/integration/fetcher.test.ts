import { createServer as createHttpServer } from 'node:http';
import {
  type AddressInfo,
  createServer as createNetServer,
  connect as netConnect,
  type Socket,
} from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fetcher } from '../../src/fetcher/fetcher.js';
import { HostLimits } from '../../src/fetcher/host-limits.js';
import { crawl } from '../../src/index.js';
import { crawlRequest, testFetcher } from '../helpers/fetcher.js';
import { recordingServer, SERVER_SLACK_MS, smallestGap } from '../helpers/recorder.js';
import { startServer } from '../helpers/server.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track(fetcher: Fetcher): Fetcher {
  cleanups.push(() => fetcher.close());
  return fetcher;
}

/** A raw TCP server for misbehaving peers; every socket is destroyed on cleanup. */
async function rawServer(onSocket: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('timeouts', () => {
  it('a server that accepts and never answers ends as a headers timeout', async () => {
    const url = await rawServer(() => {});
    const fetcher = track(
      testFetcher({ timeouts: { connectMs: 1000, headersMs: 500, bodyIdleMs: 500, totalMs: 5000 } }),
    );
    const t0 = performance.now();
    await expect(fetcher.fetch(crawlRequest(url))).rejects.toMatchObject({
      code: 'TRAWL_ERR_TIMEOUT',
      phase: 'headers',
    });
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('a body dripping one byte every 200 ms ends at the total deadline', async () => {
    const url = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 100000\r\n\r\n');
      const timer = setInterval(() => socket.write('a'), 200);
      socket.on('close', () => clearInterval(timer));
    });
    const fetcher = track(
      testFetcher({ timeouts: { connectMs: 1000, headersMs: 1000, bodyIdleMs: 1000, totalMs: 1200 } }),
    );
    const t0 = performance.now();
    await expect(fetcher.fetch(crawlRequest(url))).rejects.toMatchObject({
      code: 'TRAWL_ERR_TIMEOUT',
      phase: 'total',
    });
    expect(performance.now() - t0).toBeLessThan(4000);
  });

  it('headers dripping one byte every 200 ms end as a headers timeout', async () => {
    const url = await rawServer((socket) => {
      const head =
        'HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
      let i = 0;
      const timer = setInterval(() => socket.write(head[i++ % head.length]!), 200);
      socket.on('close', () => clearInterval(timer));
    });
    const fetcher = track(
      testFetcher({ timeouts: { connectMs: 1000, headersMs: 800, bodyIdleMs: 800, totalMs: 10_000 } }),
    );
    await expect(fetcher.fetch(crawlRequest(url))).rejects.toMatchObject({
      code: 'TRAWL_ERR_TIMEOUT',
      phase: 'headers',
    });
  });

  it('a body that stalls ends as a body idle timeout', async () => {
    const url = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 100\r\n\r\nabc');
    });
    const fetcher = track(
      testFetcher({ timeouts: { connectMs: 1000, headersMs: 1000, bodyIdleMs: 400, totalMs: 10_000 } }),
    );
    await expect(fetcher.fetch(crawlRequest(url))).rejects.toMatchObject({
      code: 'TRAWL_ERR_TIMEOUT',
      phase: 'body',
    });
  });

  it('a connect that never completes ends as a connect timeout', async () => {
    // DNS that never answers keeps the socket in its connect phase without leaving loopback.
    const fetcher = track(
      testFetcher({
        lookup: () => {},
        timeouts: { connectMs: 400, headersMs: 5000, bodyIdleMs: 5000, totalMs: 10_000 },
      }),
    );
    await expect(fetcher.fetch(crawlRequest('http://stuck.test:9/'))).rejects.toMatchObject({
      code: 'TRAWL_ERR_TIMEOUT',
      phase: 'connect',
    });
  });
});

describe('content types', () => {
  it('skips an image before reading its body, unless the request asks for binary', async () => {
    let bytesWritten = 0;
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      // A body far larger than what a skip may drain.
      const chunk = Buffer.alloc(64 * 1024);
      let left = 100;
      const pump = () => {
        while (left > 0) {
          left--;
          bytesWritten += chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    cleanups.push(server.close);
    const fetcher = track(testFetcher());
    await expect(fetcher.fetch(crawlRequest(server.url))).rejects.toMatchObject({
      code: 'TRAWL_ERR_CONTENT_TYPE',
      contentType: 'image/png',
    });
    expect(bytesWritten).toBeLessThan(100 * 64 * 1024);
    const binary = await fetcher.fetch(crawlRequest(server.url, { acceptBinary: true }));
    expect(binary.body.byteLength).toBe(100 * 64 * 1024);
  });
});

describe('response headers', () => {
  it('takes 40 KB of headers, as real sites send now and then, and refuses 100 KB with a clear error', async () => {
    const url = await rawServer((socket) => {
      socket.once('data', (request) => {
        const size = request.toString().startsWith('GET /big') ? 100_000 : 40_000;
        socket.end(
          `HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nx-policy: ${'a'.repeat(size)}\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello`,
        );
      });
    });
    const fetcher = track(testFetcher());
    const ok = await fetcher.fetch(crawlRequest(url));
    expect(ok.status).toBe(200);
    expect(ok.headers['x-policy']).toHaveLength(40_000);
    await expect(fetcher.fetch(crawlRequest(`${url}big`))).rejects.toMatchObject({
      code: 'TRAWL_ERR_NETWORK',
      message: expect.stringContaining('UND_ERR_HEADERS_OVERFLOW'),
      // The same answer would come back: not retried.
      retryable: false,
    });
  });

  it('an answer that is not HTTP is a network error that is not retried', async () => {
    const url = await rawServer((socket) => {
      socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.2\r\n'));
    });
    const fetcher = track(testFetcher());
    await expect(fetcher.fetch(crawlRequest(url))).rejects.toMatchObject({
      code: 'TRAWL_ERR_NETWORK',
      message: expect.stringContaining('does not match the HTTP/1.1 protocol'),
      retryable: false,
    });
  });
});

describe('redirects', () => {
  it('are followed hop by hop and the page carries the final URL', async () => {
    const server = await startServer((req, res) => {
      const n = Number(req.url?.slice(1) || 0);
      if (n < 3) return res.writeHead(302, { location: `/${n + 1}` }).end();
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>end</p>');
    });
    cleanups.push(server.close);
    const response = await track(testFetcher()).fetch(crawlRequest(`${server.origin}/0`));
    expect(response.url).toBe(`${server.origin}/3`);
    expect(response.redirects).toEqual([`${server.origin}/0`, `${server.origin}/1`, `${server.origin}/2`]);
  });

  it('stop after the limit (default 10)', async () => {
    let hits = 0;
    const server = await startServer((req, res) => {
      hits++;
      const n = Number(req.url?.slice(1) || 0);
      res.writeHead(301, { location: `/${n + 1}` }).end();
    });
    cleanups.push(server.close);
    await expect(track(testFetcher()).fetch(crawlRequest(`${server.origin}/0`))).rejects.toMatchObject({
      code: 'TRAWL_ERR_REDIRECT',
      message: expect.stringContaining('more than 10 redirects'),
    });
    expect(hits).toBe(11);
  });

  it('detect a loop', async () => {
    const server = await startServer((req, res) => {
      res.writeHead(302, { location: req.url === '/a' ? '/b' : '/a' }).end();
    });
    cleanups.push(server.close);
    await expect(track(testFetcher()).fetch(crawlRequest(`${server.origin}/a`))).rejects.toMatchObject({
      code: 'TRAWL_ERR_REDIRECT',
      message: expect.stringContaining('loop'),
    });
  });

  it('turn a POST into a GET on 303 and drop its body', async () => {
    const seen: string[] = [];
    const server = await startServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/form') return res.writeHead(303, { location: '/done' }).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    cleanups.push(server.close);
    await track(testFetcher()).fetch(crawlRequest(`${server.origin}/form`, { method: 'POST', body: 'a=1' }));
    expect(seen).toEqual(['POST /form', 'GET /done']);
  });

  /** What a server saw of each request: method, path, the body-describing headers and the body. */
  interface Seen {
    method: string;
    path: string;
    type?: string;
    length?: string;
    language?: string;
    authorization?: string;
    cookie?: string;
    body: string;
  }
  async function redirectingServer(
    redirect: (path: string) => [status: number, location: string] | undefined,
    host = '127.0.0.1',
  ) {
    const seen: Seen[] = [];
    const server = await startServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const h = req.headers;
        seen.push({
          method: String(req.method),
          path: String(req.url),
          ...(h['content-type'] ? { type: h['content-type'] } : {}),
          ...(h['content-length'] ? { length: h['content-length'] } : {}),
          ...(h['content-language'] ? { language: h['content-language'] } : {}),
          ...(h.authorization ? { authorization: h.authorization } : {}),
          ...(h.cookie ? { cookie: h.cookie } : {}),
          body,
        });
        const hop = redirect(String(req.url));
        if (hop) return res.writeHead(hop[0], { location: hop[1] }).end();
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    }, host);
    cleanups.push(server.close);
    return { server, seen };
  }
  const FORM = {
    method: 'POST' as const,
    body: 'a=1&b=x+y',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      'content-language': 'en',
    },
  };

  it.each([301, 302, 303])(
    'a %i after a POST is a GET without the body and its content-type, -length and -language headers',
    async (status) => {
      const { server, seen } = await redirectingServer((path) =>
        path === '/form' ? [status, '/done'] : undefined,
      );
      await track(testFetcher()).fetch(crawlRequest(`${server.origin}/form`, FORM));
      expect(seen[0]).toMatchObject({
        method: 'POST',
        type: FORM.headers['Content-Type'],
        body: 'a=1&b=x+y',
      });
      expect(seen[1]).toEqual({ method: 'GET', path: '/done', body: '' });
    },
  );

  it('a 303 turns a PUT into a GET too; a 301 or 302 keeps a PUT as it is', async () => {
    const { server, seen } = await redirectingServer((path) =>
      path === '/see' ? [303, '/done'] : path === '/moved' ? [302, '/done'] : undefined,
    );
    const fetcher = track(testFetcher());
    await fetcher.fetch(crawlRequest(`${server.origin}/see`, { ...FORM, method: 'PUT' }));
    await fetcher.fetch(crawlRequest(`${server.origin}/moved`, { ...FORM, method: 'PUT' }));
    expect(seen.map((s) => `${s.method} ${s.path} ${s.type ?? '-'} ${s.body || '-'}`)).toEqual([
      'PUT /see application/x-www-form-urlencoded a=1&b=x+y',
      'GET /done - -',
      'PUT /moved application/x-www-form-urlencoded a=1&b=x+y',
      'PUT /done application/x-www-form-urlencoded a=1&b=x+y',
    ]);
  });

  it.each([307, 308])('a %i keeps the method, the body and its headers', async (status) => {
    const { server, seen } = await redirectingServer((path) =>
      path === '/form' ? [status, '/done'] : undefined,
    );
    await track(testFetcher()).fetch(crawlRequest(`${server.origin}/form`, FORM));
    expect(seen[1]).toEqual({
      method: 'POST',
      path: '/done',
      type: 'application/x-www-form-urlencoded',
      length: '9',
      language: 'en',
      body: 'a=1&b=x+y',
    });
  });

  it('to another origin drop Authorization and a hand-set Cookie (the crawl-wide ones too); same-origin hops keep them', async () => {
    const other = await redirectingServer(() => undefined);
    const { server, seen } = await redirectingServer((path) =>
      path === '/a' ? [307, '/b'] : path === '/b' ? [307, `${other.server.origin}/c`] : undefined,
    );
    const fetcher = track(testFetcher({ headers: { Authorization: 'Bearer crawl-wide' } }));
    await fetcher.fetch(
      crawlRequest(`${server.origin}/a`, { headers: { cookie: 'sid=secret' }, method: 'POST', body: 'x' }),
    );
    expect(seen.map((s) => [s.path, s.authorization, s.cookie])).toEqual([
      ['/a', 'Bearer crawl-wide', 'sid=secret'],
      ['/b', 'Bearer crawl-wide', 'sid=secret'],
    ]);
    // The body still goes (307), the credentials do not.
    expect(other.seen).toEqual([{ method: 'POST', path: '/c', length: '1', body: 'x' }]);
  });

  it('to another host carry no cookie of the first host from the jar', async () => {
    const other = await redirectingServer(() => undefined, '127.0.0.2');
    const site = await startServer((req, res) => {
      if (req.url === '/login')
        return res.writeHead(302, { location: '/go', 'set-cookie': 'sid=abc; Path=/' }).end();
      res.writeHead(302, { location: `${other.server.origin}/landing` }).end();
    });
    cleanups.push(site.close);
    const fetcher = track(testFetcher());
    await fetcher.fetch(crawlRequest(`${site.origin}/login`)).catch(() => undefined);
    expect(other.seen).toEqual([{ method: 'GET', path: '/landing', body: '' }]);
  });

  it('are checked against the crawl host filters on every hop', async () => {
    const offsite = await recordingServer('127.0.0.2', (_req, res) => res.writeHead(200).end('x'));
    const site = await startServer((req, res) => {
      if (req.url === '/robots.txt') return res.writeHead(404).end();
      res.writeHead(302, { location: `${offsite.origin}/landing` }).end();
    });
    cleanups.push(site.close, offsite.close);
    const failures: Array<{ error: { code: string; message: string } }> = [];
    const c = crawl({ name: 'r', startUrls: [site.url], parse: () => [] }, { workers: 0 });
    c.events.on('failure', (f) => failures.push(f));
    for await (const _ of c) {
      // drain
    }
    expect(failures).toHaveLength(1);
    expect(failures[0]!.error).toMatchObject({
      code: 'TRAWL_ERR_REDIRECT',
      message: expect.stringContaining('offsite'),
    });
    expect(offsite.record.paths).toEqual([]);
  });

  it('take their turn in the host limits like any request', async () => {
    const server = await recordingServer('127.0.0.1', (req, res) => {
      const n = Number(req.url?.slice(1) || 0);
      if (n % 3 !== 2) return res.writeHead(302, { location: `/${n + 1}` }).end();
      res.writeHead(200, { 'content-type': 'text/html' }).end('ok');
    });
    cleanups.push(server.close);
    const limits = new HostLimits({ concurrency: 1, delayMs: 80, jitterMs: 0 });
    const fetcher = track(testFetcher({ hostLimits: limits }));
    for (const start of [0, 3]) {
      limits.acquire(server.origin);
      await fetcher.fetch(crawlRequest(`${server.origin}/${start}`));
      limits.release(server.origin);
      await new Promise((r) => setTimeout(r, limits.waitMs(server.origin)));
    }
    expect(server.record.paths).toEqual(['/0', '/1', '/2', '/3', '/4', '/5']);
    expect(smallestGap(server.record.starts)).toBeGreaterThanOrEqual(80 - SERVER_SLACK_MS);
  });
});

describe('sessions', () => {
  it('keep cookies per host and send them back, with the trawl user agent and request headers', async () => {
    const seen: Array<{ url: string; cookie?: string; ua?: string; extra?: string }> = [];
    const handler =
      (host: string) =>
      (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
        seen.push({
          url: `${host}${req.url}`,
          ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}),
          ...(req.headers['user-agent'] ? { ua: req.headers['user-agent'] } : {}),
          ...(req.headers['x-extra'] ? { extra: String(req.headers['x-extra']) } : {}),
        });
        if (req.url === '/login') res.setHeader('set-cookie', [`session=${host}; Path=/`, 'theme=dark']);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      };
    const a = await startServer(handler('a'), '127.0.0.1');
    const b = await startServer(handler('b'), '127.0.0.2');
    cleanups.push(a.close, b.close);
    const fetcher = track(testFetcher());
    await fetcher.fetch(crawlRequest(`${a.origin}/login`));
    await fetcher.fetch(crawlRequest(`${a.origin}/next`, { headers: { 'x-extra': '1' } }));
    await fetcher.fetch(crawlRequest(`${b.origin}/other`));
    expect(seen[1]).toMatchObject({ url: 'a/next', cookie: 'session=a; theme=dark', extra: '1' });
    expect(seen[2]!.cookie).toBeUndefined();
    expect(seen[0]!.ua).toMatch(/^trawl\//);
  });

  it('carry cookies set on a redirect hop to the next hop', async () => {
    let cookieOnLanding: string | undefined;
    const server = await startServer((req, res) => {
      if (req.url === '/start')
        return res.writeHead(302, { location: '/landing', 'set-cookie': 'k=v' }).end();
      cookieOnLanding = req.headers.cookie;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    cleanups.push(server.close);
    await track(testFetcher()).fetch(crawlRequest(`${server.origin}/start`));
    expect(cookieOnLanding).toBe('k=v');
  });

  it('go through an HTTP proxy when one is set', async () => {
    const site = await startServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('via'),
    );
    const tunnels: string[] = [];
    const proxy = createHttpServer();
    proxy.on('connect', (req, client: Socket, head: Buffer) => {
      tunnels.push(String(req.url));
      const [host, port] = String(req.url).split(':');
      const upstream = netConnect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanups.push(site.close, () => {
      proxy.closeAllConnections();
      return new Promise((r) => proxy.close(r));
    });
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const response = await track(testFetcher({ proxy: proxyUrl })).fetch(crawlRequest(site.url));
    expect(Buffer.from(response.body).toString()).toBe('via');
    expect(tunnels).toEqual([new URL(site.url).host]);
  });
});
