/**
 * Message shapes between the main thread and parser workers. Only plain data crosses; the body
 * crosses as a transferred ArrayBuffer, not a copy.
 */
import type { PageRequest } from '../spider.js';
import type { Item, RequestInit } from '../types.js';

export interface ParseTask {
  /** Absolute path of the spider module; the worker imports it once and keeps it. */
  spiderPath: string;
  callback: string;
  request: PageRequest;
  url: string;
  status: number;
  headers: Record<string, string>;
  encoding: string;
  body: Uint8Array;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogLine {
  level: LogLevel;
  message: string;
  data?: Record<string, unknown>;
}

export interface CallbackFailure {
  code: string;
  message: string;
  stack?: string;
}

export interface ParseOutcome {
  items: Item[];
  requests: RequestInit[];
  logs: LogLine[];
  /** Set when the callback threw; items and requests yielded before the throw are kept. */
  error?: CallbackFailure;
  /** The thread that ran the callback (0 = main thread). */
  threadId: number;
  durationMs: number;
}
