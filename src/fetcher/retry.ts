import { HttpStatusError, RobotsUnavailableError, TrawlError } from '../errors.js';
import { DEFAULTS } from '../options.js';

export interface RetryDelayOptions {
  /** First backoff step. @default DEFAULTS.backoff.baseMs */
  baseMs?: number;
  /** Largest backoff step. @default DEFAULTS.backoff.maxMs */
  maxMs?: number;
  /**
   * Most a server's Retry-After (or a robots.txt outage) is waited for.
   * @default DEFAULTS.backoff.maxRetryAfterMs
   */
  maxRetryAfterMs?: number;
  /** Source of randomness in [0, 1), injectable for tests. @default Math.random */
  random?: () => number;
  /** Clock for HTTP-date Retry-After values. @default Date.now */
  now?: () => number;
}

/** Whether a failure is worth another attempt: the error class decides. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof TrawlError) return error.retryable;
  return false;
}

/**
 * Delay before retry number `attempt` (1 = the first retry): exponential backoff with full jitter,
 * unless the server said when to come back with Retry-After (seconds or an HTTP date) or the
 * error knows when it may succeed (robots.txt outage); those are honoured up to `maxRetryAfterMs`.
 */
export function retryDelayMs(attempt: number, error: unknown, options: RetryDelayOptions = {}): number {
  const baseMs = options.baseMs ?? DEFAULTS.backoff.baseMs;
  const maxMs = options.maxMs ?? DEFAULTS.backoff.maxMs;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULTS.backoff.maxRetryAfterMs;
  const random = options.random ?? Math.random;
  if (error instanceof HttpStatusError && error.retryAfter !== undefined) {
    const after = parseRetryAfter(error.retryAfter, options.now?.() ?? Date.now());
    if (after !== undefined) return Math.min(after, maxRetryAfterMs);
  }
  if (error instanceof RobotsUnavailableError) return Math.min(error.retryAfterMs, maxRetryAfterMs);
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Retry-After as milliseconds from now, or undefined when it is neither seconds nor an HTTP date. */
export function parseRetryAfter(value: string, nowMs: number): number | undefined {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
