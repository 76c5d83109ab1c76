/**
 * Watching a crawl from outside: a Prometheus endpoint, a live dashboard, and a static HTML report
 * written when the monitor closes. Servers bind to loopback unless given another host.
 */
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MonitorError } from '../errors.js';
import type { Crawl } from '../pipeline/crawl.js';
import { dashboardAssets, livePage, reportPage } from './dashboard-page.js';
import { CrawlMetrics } from './metrics.js';
import { CrawlWatcher, type MonitorState } from './state.js';

export interface MonitorOptions {
  /** Serve Prometheus metrics at `/metrics` on `HOST:PORT`, `:PORT` or `PORT` (loopback). */
  metrics?: string;
  /** Serve the live dashboard on `HOST:PORT`, `:PORT` or `PORT` (loopback); may equal `metrics`. */
  dashboard?: string;
  /** Write a self-contained HTML report to this file when the monitor closes. */
  report?: string;
  /** The page title. @default 'trawl crawl' */
  title?: string;
  /** Labels on every metric, e.g. `{ process: 'host-1:4242' }` for a distributed crawl. */
  labels?: Record<string, string>;
  /** Hosts with their own response-time series; the rest are `other`. @default 20 */
  maxHostLabels?: number;
  /** Node process metrics on `/metrics`. @default true */
  processMetrics?: boolean;
}

export interface Monitor {
  /** `http://host:port/metrics`, when metrics are served. */
  readonly metricsUrl: string | undefined;
  /** `http://host:port/`, when the dashboard is served. */
  readonly dashboardUrl: string | undefined;
  /** What the dashboard shows, now. */
  state(): MonitorState;
  /** Stops the servers and writes the report, if one was asked for; returns its path. */
  close(): Promise<string | undefined>;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export async function startMonitor(crawl: Crawl, options: MonitorOptions): Promise<Monitor> {
  const metricsAt =
    options.metrics === undefined ? undefined : parseListenAddress(options.metrics, 'metrics');
  const dashboardAt =
    options.dashboard === undefined ? undefined : parseListenAddress(options.dashboard, 'dashboard');
  const metrics = metricsAt
    ? new CrawlMetrics(crawl.stats, {
        ...(options.labels ? { labels: options.labels } : {}),
        ...(options.processMetrics === undefined ? {} : { processMetrics: options.processMetrics }),
      })
    : undefined;
  const watcher = new CrawlWatcher(
    crawl,
    options.title ?? 'trawl crawl',
    options.maxHostLabels ?? 20,
    metrics,
  );
  const shared = metricsAt && dashboardAt && sameAddress(metricsAt, dashboardAt);
  const servers: Server[] = [];
  let metricsUrl: string | undefined;
  let dashboardUrl: string | undefined;
  try {
    if (metricsAt) {
      const server = await listen(metricsAt, handler(watcher, metrics, Boolean(shared)));
      servers.push(server);
      metricsUrl = `${baseUrl(server)}metrics`;
      if (shared) dashboardUrl = baseUrl(server);
    }
    if (dashboardAt && !shared) {
      const server = await listen(dashboardAt, handler(watcher, undefined, true));
      servers.push(server);
      dashboardUrl = baseUrl(server);
    }
  } catch (error) {
    watcher.end();
    await Promise.all(servers.map(closeServer));
    throw error;
  }
  let closed: Promise<string | undefined> | undefined;
  return {
    metricsUrl,
    dashboardUrl,
    state: () => watcher.snapshot(),
    close: () =>
      (closed ??= (async () => {
        watcher.end();
        await Promise.all(servers.map(closeServer));
        if (!options.report) return undefined;
        await writeFile(options.report, reportPage(watcher.snapshot(500))).catch((error: Error) => {
          throw new MonitorError(`report ${options.report} cannot be written: ${error.message}`, {
            cause: error,
          });
        });
        return options.report;
      })()),
  };
}

/** `HOST:PORT`, `:PORT` or `PORT`; no host means loopback, so a dashboard is private by default. */
export function parseListenAddress(value: string, what = 'listen'): ListenAddress {
  const match = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535)
    throw new MonitorError(
      `${what} address "${value}" is not HOST:PORT, :PORT or PORT (e.g. 127.0.0.1:9464)`,
    );
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '') || '127.0.0.1';
  return { host, port };
}

function sameAddress(a: ListenAddress, b: ListenAddress): boolean {
  return a.host === b.host && a.port === b.port && a.port !== 0;
}

function handler(watcher: CrawlWatcher, metrics: CrawlMetrics | undefined, dashboard: boolean) {
  return (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://monitor').pathname;
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
    if (path === '/metrics' && metrics) {
      metrics.exposition().then(
        (text) => send(200, metrics.contentType, text),
        (error: Error) => send(500, 'text/plain', `${error.message}\n`),
      );
      return;
    }
    if (!dashboard) return send(404, 'text/plain', 'not found: try /metrics\n');
    if (path === '/') return send(200, 'text/html; charset=utf-8', livePage());
    if (path === '/state.json') return send(200, 'application/json', JSON.stringify(watcher.snapshot()));
    if (path === '/assets/uPlot.iife.min.js')
      return send(200, 'text/javascript; charset=utf-8', dashboardAssets().uplotJs);
    if (path === '/assets/uPlot.min.css')
      return send(200, 'text/css; charset=utf-8', dashboardAssets().uplotCss);
    send(404, 'text/plain', 'not found\n');
  };
}

function listen(at: ListenAddress, onRequest: ReturnType<typeof handler>): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(onRequest);
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new MonitorError(`cannot listen on ${at.host}:${at.port}: ${error.code ?? error.message}`, {
          cause: error,
        }),
      ),
    );
    server.listen(at.port, at.host, () => {
      server.unref();
      resolve(server);
    });
  });
}

function baseUrl(server: Server): string {
  const { address, port, family } = server.address() as AddressInfo;
  return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}/`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
