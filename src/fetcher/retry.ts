import { HttpStatusError, TrawlError } from '../errors.js';

export interface RetryDelayOptions {
  /** First backoff step. @default 500 */
  baseMs?: number;
  /** Largest backoff step, and the most a Retry-After is honoured for. @default 30_000 */
  maxMs?: number;
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
 * unless the server said when to come back with Retry-After (seconds or an HTTP date), which is
 * honoured up to `maxMs`.
 */
export function retryDelayMs(attempt: number, error: unknown, options: RetryDelayOptions = {}): number {
  const baseMs = options.baseMs ?? 500;
  const maxMs = options.maxMs ?? 30_000;
  const random = options.random ?? Math.random;
  if (error instanceof HttpStatusError && error.retryAfter !== undefined) {
    const after = parseRetryAfter(error.retryAfter, options.now?.() ?? Date.now());
    if (after !== undefined) return Math.min(after, maxMs);
  }
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
