/**
 * Every error trawl raises or records. Each has a stable `code` that callers and the failures file
 * match on, an optional `cause`, and a `retryable` flag that the retry policy reads, so whether to
 * retry is decided by the error class, not by string matching.
 */

export type ErrorCode =
  | 'TRAWL_ERR_USAGE'
  | 'TRAWL_ERR_OPTION'
  | 'TRAWL_ERR_INVALID_URL'
  | 'TRAWL_ERR_SPIDER_NOT_FOUND'
  | 'TRAWL_ERR_SPIDER_INVALID'
  | 'TRAWL_ERR_HTTP_STATUS'
  | 'TRAWL_ERR_TIMEOUT'
  | 'TRAWL_ERR_NETWORK'
  | 'TRAWL_ERR_BODY_TOO_LARGE'
  | 'TRAWL_ERR_DECODE'
  | 'TRAWL_ERR_CONTENT_TYPE'
  | 'TRAWL_ERR_REDIRECT'
  | 'TRAWL_ERR_BLOCKED_ADDRESS'
  | 'TRAWL_ERR_ROBOTS'
  | 'TRAWL_ERR_ROBOTS_UNAVAILABLE'
  | 'TRAWL_ERR_CALLBACK'
  | 'TRAWL_ERR_PARSE_TIMEOUT'
  | 'TRAWL_ERR_WORKER'
  | 'TRAWL_ERR_ITEM'
  | 'TRAWL_ERR_SINK'
  | 'TRAWL_ERR_JOB_DIR'
  | 'TRAWL_ERR_SHARED_FRONTIER'
  | 'TRAWL_ERR_ABORTED';

export interface TrawlErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

export class TrawlError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: TrawlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A bad command line, option or argument: the CLI prints one line and exits 2. */
export class UsageError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_USAGE', message, options);
  }
}

/** An option that fails validation; the message names the option path, expected and received. */
export class OptionError extends TrawlError {
  readonly path: string;
  constructor(path: string, expected: string, received: unknown);
  /** A key with no place there: `problem` says so, e.g. `unknown setting, did you mean concurrency?`. */
  constructor(path: string, problem: string);
  constructor(path: string, text: string, ...received: unknown[]) {
    super(
      'TRAWL_ERR_OPTION',
      `option ${path}: ${received.length > 0 ? `expected ${text}, received ${describe(received[0])}` : text}`,
    );
    this.path = path;
  }
}

export class InvalidUrlError extends TrawlError {
  readonly url: string;
  constructor(url: string, reason = 'not an absolute http(s) URL') {
    super('TRAWL_ERR_INVALID_URL', `invalid URL ${JSON.stringify(redactUrl(url))}: ${reason}`);
    this.url = url;
  }
}

export class SpiderNotFoundError extends TrawlError {
  constructor(path: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_SPIDER_NOT_FOUND', `spider module not found: ${path}`, options);
  }
}

export class SpiderInvalidError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_SPIDER_INVALID', message, options);
  }
}

const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

export class HttpStatusError extends TrawlError {
  readonly status: number;
  /** Raw Retry-After header value, if the server sent one. */
  readonly retryAfter: string | undefined;
  constructor(status: number, url: string, retryAfter?: string) {
    super('TRAWL_ERR_HTTP_STATUS', `HTTP ${status} for ${redactUrl(url)}`, {
      retryable: RETRYABLE_STATUSES.has(status),
    });
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'total' | 'parse';

export class TimeoutError extends TrawlError {
  readonly phase: TimeoutPhase;
  /** `context` prefixes the message, e.g. the host that did not answer. */
  constructor(phase: TimeoutPhase, ms: number, options?: TrawlErrorOptions, context?: string) {
    super('TRAWL_ERR_TIMEOUT', `${context ? `${context}: ` : ''}${phase} timeout after ${ms} ms`, {
      retryable: true,
      ...options,
    });
    this.phase = phase;
  }
}

export class NetworkError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_NETWORK', message, { retryable: true, ...options });
  }
}

export class BodyTooLargeError extends TrawlError {
  readonly limit: number;
  constructor(limit: number, what: 'wire' | 'decoded') {
    super('TRAWL_ERR_BODY_TOO_LARGE', `${what} body exceeds the cap of ${limit} bytes`);
    this.limit = limit;
  }
}

export class DecodeError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_DECODE', message, options);
  }
}

export class ContentTypeSkippedError extends TrawlError {
  readonly contentType: string;
  constructor(contentType: string) {
    super('TRAWL_ERR_CONTENT_TYPE', `skipped non-text content type ${contentType}`);
    this.contentType = contentType;
  }
}

export class RedirectError extends TrawlError {
  constructor(message: string) {
    super('TRAWL_ERR_REDIRECT', message);
  }
}

export class BlockedAddressError extends TrawlError {
  readonly host: string;
  readonly address: string;
  constructor(host: string, address: string, kind = 'private') {
    super('TRAWL_ERR_BLOCKED_ADDRESS', `refusing to connect to ${host} (${address}): ${kind} address`);
    this.host = host;
    this.address = address;
  }
}

export class RobotsDisallowedError extends TrawlError {
  constructor(url: string) {
    super('TRAWL_ERR_ROBOTS', `disallowed by robots.txt: ${redactUrl(url)}`);
  }
}

/**
 * robots.txt answered 5xx or could not be reached: RFC 9309 says assume everything is disallowed
 * until it can be fetched, so the request is retried once the origin's robots.txt is due again.
 */
export class RobotsUnavailableError extends TrawlError {
  readonly retryAfterMs: number;
  constructor(origin: string, reason: string, retryAfterMs: number) {
    super('TRAWL_ERR_ROBOTS_UNAVAILABLE', `robots.txt of ${origin} unavailable (${reason})`, {
      retryable: true,
    });
    this.retryAfterMs = retryAfterMs;
  }
}

/** A spider callback threw; carries where it happened so the failure is actionable. */
export class CallbackError extends TrawlError {
  readonly callback: string;
  readonly url: string;
  readonly spider: string;
  constructor(spider: string, callback: string, url: string, message: string, stack?: string) {
    super('TRAWL_ERR_CALLBACK', `callback ${spider}.${callback} failed on ${redactUrl(url)}: ${message}`);
    this.spider = spider;
    this.callback = callback;
    this.url = url;
    if (stack) this.stack = stack;
  }
}

export class ParseTimeoutError extends TrawlError {
  constructor(ms: number, url: string) {
    super('TRAWL_ERR_PARSE_TIMEOUT', `parse of ${redactUrl(url)} exceeded ${ms} ms; worker replaced`);
  }
}

export class WorkerCrashError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_WORKER', message, { retryable: true, ...options });
  }
}

export class ItemError extends TrawlError {
  constructor(message: string) {
    super('TRAWL_ERR_ITEM', message);
  }
}

export class SinkError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_SINK', message, options);
  }
}

/** An output could not be opened (a directory that cannot be made, a file or store that refuses); nothing was crawled. */
export class OutputOpenError extends SinkError {}

/** The job directory cannot be read or written; the crawl stops rather than lose its state. */
export class JobDirError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_JOB_DIR', message, options);
  }
}

/** The Redis frontier of a distributed crawl cannot be reached or used; the crawl stops. */
export class SharedFrontierError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_SHARED_FRONTIER', message, options);
  }
}

export class AbortedError extends TrawlError {
  constructor(message = 'aborted') {
    super('TRAWL_ERR_ABORTED', message);
  }
}

/** Turns anything thrown into a `{ code, message }` pair for records and events. */
export function errorRecord(error: unknown): { code: string; message: string } {
  if (error instanceof TrawlError) return { code: error.code, message: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : error.name, message: error.message };
  }
  return { code: 'UNKNOWN', message: String(error) };
}

/** Drops userinfo from a URL so credentials never reach logs or error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
