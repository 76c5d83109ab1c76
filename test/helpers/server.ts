import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  url: string;
  origin: string;
  server: Server;
  close(): Promise<void>;
}

/** A node:http server on a free port of a loopback address, closed with its sockets. */
export async function startServer(handler: RequestListener, host = '127.0.0.1'): Promise<TestServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host}:${port}`;
  return {
    url: `${origin}/`,
    origin,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Answers HTML built from a path → body map; anything else is a 404. */
export function htmlRoutes(routes: Record<string, string>): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = routes[path];
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>not found</h1>');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body);
  };
}

export interface TreeSiteOptions {
  /** Delay before each answer. */
  delayMs?: number;
  /** Node ids answered with this status instead of the page (change it while the server runs). */
  failing?: Map<number, number>;
  /** Node ids answered 503 (Retry-After: 0) on their first request only. */
  failOnce?: number[];
  /** Never answer these ids (for shutdown tests). */
  hang?: boolean;
}

/** A binary tree of `size` HTML pages: /n/i links to /n/2i+1 and /n/2i+2; past the end is a 404. */
export function treeSite(size: number, options: TreeSiteOptions = {}): Promise<TestServer> {
  const failedOnce = new Set<number>();
  return startServer((req, res) => {
    const m = /^\/n\/(\d+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const i = m ? Number(m[1]) : -1;
    if (options.hang) return;
    const answer = () => {
      if (options.failOnce?.includes(i) && !failedOnce.has(i)) {
        failedOnce.add(i);
        res.writeHead(503, { 'retry-after': '0' }).end('busy');
        return;
      }
      const failure = options.failing?.get(i);
      if (i < 0 || i >= size || failure) {
        res.writeHead(failure ?? 404, { 'content-type': 'text/html' }).end('<h1>no</h1>');
        return;
      }
      const links = [2 * i + 1, 2 * i + 2].map((c) => `<a href="/n/${c}">${c}</a>`).join('');
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(`<html><body><h1>${i}</h1>${links}</body></html>`);
    };
    if (options.delayMs) setTimeout(answer, options.delayMs);
    else answer();
  });
}
