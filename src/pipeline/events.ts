import { EventEmitter } from 'node:events';
import type { CrawlRequest, FailureRecord, Item } from '../types.js';
import type { CrawlStats } from './stats.js';

export interface LogEvent {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  url?: string;
  data?: Record<string, unknown>;
}

/** What a crawl reports as it runs. The library never logs; the CLI turns these into logs. */
export interface CrawlEventMap {
  /** Taken from the frontier to be fetched. */
  scheduled: [request: CrawlRequest];
  /** A fetch attempt starts (again for each retry). */
  request: [request: CrawlRequest];
  /** An HTTP answer, also one with an error status (then `bytes` is 0: the body was not read). */
  response: [info: { url: string; status: number; bytes: number; elapsedMs: number; request: CrawlRequest }];
  retry: [info: { request: CrawlRequest; error: { code: string; message: string }; delayMs: number }];
  item: [item: Item];
  /** A batch was written to a sink (`sinkRetry` reports a write that threw). */
  sinkWrite: [info: { sink: string; items: number; elapsedMs: number }];
  /** A request ended as failed (it will not be tried again in this crawl). */
  failure: [failure: FailureRecord];
  log: [event: LogEvent];
  /** A sink write threw; it is tried again after `delayMs` while the crawl waits. */
  sinkRetry: [info: { sink: string; error: { code: string; message: string }; delayMs: number }];
  /** A sink did not recover: its unwritten items and all later ones go to `path`. */
  sinkFallback: [info: { sink: string; path: string; error: { code: string; message: string } }];
  finished: [stats: CrawlStats];
}

export class CrawlEvents extends EventEmitter<CrawlEventMap> {}
