import { errors as undiciErrors } from 'undici';
import { AbortedError, BlockedAddressError, NetworkError, TimeoutError, TrawlError } from '../errors.js';
import type { TimeoutOptions } from '../options.js';

/** The configured limit of a timeout phase, for the message of a timeout that was reworded. */
export function phaseTimeoutMs(phase: TimeoutError['phase'], timeouts: Required<TimeoutOptions>): number {
  return phase === 'connect'
    ? timeouts.connectMs
    : phase === 'headers'
      ? timeouts.headersMs
      : phase === 'body'
        ? timeouts.bodyIdleMs
        : timeouts.totalMs;
}

/**
 * Turns whatever ended an attempt into the trawl error that says what happened: a blocked address
 * found anywhere in the cause chain, a cancel, the total deadline, undici's phase timeouts, else a
 * network error carrying the system code.
 */
export function classifyFetchError(
  error: unknown,
  expired: boolean,
  signal: AbortSignal | undefined,
  timeouts: Required<TimeoutOptions>,
): TrawlError {
  const blocked = findCause(error, BlockedAddressError);
  if (blocked) return blocked;
  if (error instanceof TrawlError) return error;
  if (signal?.aborted) return new AbortedError();
  if (expired) return new TimeoutError('total', timeouts.totalMs, { cause: error });
  if (error instanceof undiciErrors.ConnectTimeoutError)
    return new TimeoutError('connect', timeouts.connectMs, { cause: error });
  if (error instanceof undiciErrors.HeadersTimeoutError)
    return new TimeoutError('headers', timeouts.headersMs, { cause: error });
  if (error instanceof undiciErrors.BodyTimeoutError)
    return new TimeoutError('body', timeouts.bodyIdleMs, { cause: error });
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  // An answer that is not HTTP, or headers past the limit, comes back the same on every attempt.
  const retryable = !(code === 'UND_ERR_HEADERS_OVERFLOW' || error instanceof undiciErrors.HTTPParserError);
  return new NetworkError(code ? `${code}: ${message}` : message, { cause: error, retryable });
}

function findCause<T>(error: unknown, type: new (...args: never[]) => T): T | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof type) return e;
  }
  return undefined;
}
