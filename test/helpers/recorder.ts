import type { IncomingMessage, ServerResponse } from 'node:http';
import { startServer, type TestServer } from './server.js';

/** What one host saw: request starts (monotonic ms), most concurrent, and paths in order. */
export interface HostRecord {
  starts: number[];
  paths: string[];
  active: number;
  maxActive: number;
}

/**
 * The test server shares the event loop with the crawler, so its 'request' event can be run a few
 * ms after the bytes arrived (never before), which only ever shrinks a gap it records. A limiter
 * that ignored the gap would show gaps near zero, far below this slack.
 */
export const SERVER_SLACK_MS = 10;

export function smallestGap(starts: number[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 1; i < starts.length; i++) min = Math.min(min, starts[i]! - starts[i - 1]!);
  return min;
}

export type Responder = (req: IncomingMessage, res: ServerResponse, record: HostRecord) => void;

/** A server on `host` that records every request before `respond` answers it. */
export async function recordingServer(
  host: string,
  respond: Responder,
): Promise<TestServer & { record: HostRecord }> {
  const record: HostRecord = { starts: [], paths: [], active: 0, maxActive: 0 };
  const server = await startServer((req, res) => {
    record.starts.push(performance.now());
    record.paths.push(req.url ?? '');
    record.active++;
    record.maxActive = Math.max(record.maxActive, record.active);
    res.on('close', () => record.active--);
    respond(req, res, record);
  }, host);
  return Object.assign(server, { record });
}

/** Answers HTML after `delayMs`; robots.txt is a 404 (allow all). */
export function slowHtml(delayMs: number): Responder {
  return (req, res) => {
    if (req.url === '/robots.txt') {
      res.writeHead(404).end();
      return;
    }
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<html><title>${req.url}</title></html>`);
    }, delayMs);
  };
}
