import { NetworkError, TimeoutError, WorkerCrashError } from '../errors.js';
import { isRetryable, type RetryDelayOptions, retryDelayMs } from '../fetcher/retry.js';

/**
 * Where the crawl is when an attempt fails: `running`, `stopping` (no new attempts, in-flight work
 * finishes) or `cancelled` (in-flight work was cut off: the stop grace ran out, or an abort).
 */
export type CrawlPhase = 'running' | 'stopping' | 'cancelled';

export interface RetrySettings {
  /** Retries after the first attempt. */
  retries: number;
  backoff: RetryDelayOptions;
}

export type RetryDecision =
  /** Try again after `delayMs`; `slow` sends it behind the fresh requests of its host. */
  | { kind: 'retry'; delayMs: number; slow: boolean }
  /** Would be retried, but the crawl is stopping: back to the frontier untried, for a resume. */
  | { kind: 'requeue' }
  /** Ends as failed. */
  | { kind: 'fail' }
  /** Cut off by a cancel: stays taken and not done, counted as unfinished. */
  | { kind: 'abandon' };

/** What becomes of a request whose attempt number `attempts` failed to fetch with `error`. */
export function afterFetchError(
  error: unknown,
  attempts: number,
  settings: RetrySettings,
  phase: CrawlPhase,
): RetryDecision {
  if (phase === 'cancelled') return { kind: 'abandon' };
  if (!isRetryable(error) || attempts > settings.retries) return { kind: 'fail' };
  if (phase === 'stopping') return { kind: 'requeue' };
  return {
    kind: 'retry',
    delayMs: retryDelayMs(attempts, error, settings.backoff),
    // A server that said when to come back gets its retry on time; a URL that did not answer
    // waits behind its host's fresh requests.
    slow: error instanceof TimeoutError || error instanceof NetworkError,
  };
}

export type ParseDecision =
  /** Fetch the page again, at once, and parse it once more. */
  { kind: 'refetch' } | { kind: 'fail' } | { kind: 'abandon' };

/**
 * What becomes of a request whose page failed to parse. A crashed worker gets one more try: its
 * body went to the dead thread, so rather than copying every page's body just in case, the page
 * is fetched again (in its host's turn). A timeout or a second crash fails the page, and so does
 * a crash while the crawl is stopping.
 */
export function afterParseError(error: unknown, parseAttempts: number, phase: CrawlPhase): ParseDecision {
  if (phase === 'cancelled') return { kind: 'abandon' };
  const crashed = error instanceof WorkerCrashError;
  if (crashed && parseAttempts === 0 && phase === 'running') return { kind: 'refetch' };
  return { kind: 'fail' };
}
