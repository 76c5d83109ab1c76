/**
 * Message shapes between the main thread and parser workers. Only plain data crosses; the body
 * crosses as a transferred ArrayBuffer, not a copy.
 */
import type { PageRequest } from '../spider.js';
import type { Item, RequestInit } from '../types.js';
import type { LinkDrops } from './links.js';

export interface ParseTask {
  /** Absolute path of the spider module; the worker imports it once and keeps it. */
  spiderPath: string;
  callback: string;
  request: PageRequest;
  url: string;
  status: number;
  headers: Record<string, string>;
  encoding: string;
  /** Raw body bytes; the pool transfers their ArrayBuffer, so the sender's view is detached. */
  body: Uint8Array;
  /** A rendered page's screenshot (PNG), copied with the task. */
  screenshot?: Uint8Array;
  /** The crawl's body cap, which also caps a gzipped sitemap once decompressed. */
  maxBodyBytes?: number;
}

type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogLine {
  level: LogLevel;
  message: string;
  data?: Record<string, unknown>;
}

/** Why a callback (or the link rules after it) failed on a page. */
export interface CallbackFailure {
  /** `code` of a trawl error, else TRAWL_ERR_CALLBACK. */
  code: string;
  message: string;
  /** Stack of the error, pointing into the spider module. */
  stack?: string;
}

/** The one reply per page: everything the callback produced. */
export interface ParseOutcome {
  items: Item[];
  requests: RequestInit[];
  logs: LogLine[];
  /** Links follow()/followAll() dropped, by reason; absent when none were. */
  dropped?: LinkDrops;
  /** Set when the callback threw; items and requests yielded before the throw are kept. */
  error?: CallbackFailure;
  /** The thread that ran the callback (0 = main thread). */
  threadId: number;
  durationMs: number;
}
