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
  | 'TRAWL_ERR_WORKER_START'
  | 'TRAWL_ERR_ITEM'
  | 'TRAWL_ERR_SINK'
  | 'TRAWL_ERR_JOB_DIR'
  | 'TRAWL_ERR_SHARED_FRONTIER'
  | 'TRAWL_ERR_MONITOR'
  | 'TRAWL_ERR_RENDER'
  | 'TRAWL_ERR_BROWSER'
  | 'TRAWL_ERR_ABORTED';

export interface TrawlErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

/** Every code, for telling a trawl error from any copy of trawl (a spider may load its own). */
const ERROR_CODES: Readonly<Record<ErrorCode, true>> = {
  TRAWL_ERR_USAGE: true,
  TRAWL_ERR_OPTION: true,
  TRAWL_ERR_INVALID_URL: true,
  TRAWL_ERR_SPIDER_NOT_FOUND: true,
  TRAWL_ERR_SPIDER_INVALID: true,
  TRAWL_ERR_HTTP_STATUS: true,
  TRAWL_ERR_TIMEOUT: true,
  TRAWL_ERR_NETWORK: true,
  TRAWL_ERR_BODY_TOO_LARGE: true,
  TRAWL_ERR_DECODE: true,
  TRAWL_ERR_CONTENT_TYPE: true,
  TRAWL_ERR_REDIRECT: true,
  TRAWL_ERR_BLOCKED_ADDRESS: true,
  TRAWL_ERR_ROBOTS: true,
  TRAWL_ERR_ROBOTS_UNAVAILABLE: true,
  TRAWL_ERR_CALLBACK: true,
  TRAWL_ERR_PARSE_TIMEOUT: true,
  TRAWL_ERR_WORKER: true,
  TRAWL_ERR_WORKER_START: true,
  TRAWL_ERR_ITEM: true,
  TRAWL_ERR_SINK: true,
  TRAWL_ERR_JOB_DIR: true,
  TRAWL_ERR_SHARED_FRONTIER: true,
  TRAWL_ERR_MONITOR: true,
  TRAWL_ERR_RENDER: true,
  TRAWL_ERR_BROWSER: true,
  TRAWL_ERR_ABORTED: true,
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * The base class. Its message never carries credentials: the userinfo of every URL in it is
 * dropped here, whoever built the message.
 */
export class TrawlError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: TrawlErrorOptions = {}) {
    super(redactUrl(message), options.cause === undefined ? undefined : { cause: options.cause });
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
    super('TRAWL_ERR_INVALID_URL', `invalid URL ${JSON.stringify(url)}: ${reason}`);
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
    super('TRAWL_ERR_HTTP_STATUS', `HTTP ${status} for ${url}`, {
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
  constructor(limit: number, what: 'wire' | 'decoded' | 'rendered') {
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
    super('TRAWL_ERR_ROBOTS', `disallowed by robots.txt: ${url}`);
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

/**
 * A spider callback threw something that is not a trawl error. The message is what it threw; the
 * failure record names the URL and the callback.
 */
export class CallbackError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_CALLBACK', message, options);
  }
}

export class ParseTimeoutError extends TrawlError {
  constructor(ms: number, url: string) {
    super('TRAWL_ERR_PARSE_TIMEOUT', `parse of ${url} exceeded ${ms} ms; worker replaced`);
  }
}

/** A parser thread died (exit, uncaught error, out of memory) on a page: the page may be tried again. */
export class WorkerCrashError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_WORKER', message, { retryable: true, ...options });
  }
}

/**
 * No parser thread can start (the worker module, the Node options or the resource limits are
 * wrong): a setup problem, so no page is tried again.
 */
export class WorkerStartError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_WORKER_START', message, options);
  }
}

/** A callback yielded an item or a request that is not plain data, or data that cannot be sent. */
export class ItemError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_ITEM', message, options);
  }
}

export class SinkError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_SINK', message, options);
  }
}

/** An output could not be opened (a directory that cannot be made, a file or store that refuses); nothing was crawled. */
export class OutputOpenError extends SinkError {}

/** A metrics or dashboard address cannot be used, or the report cannot be written. */
export class MonitorError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_MONITOR', message, options);
  }
}

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

/** A page could not be rendered: the browser page crashed, a selector never came, or a step failed. */
export class RenderError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_RENDER', message, { retryable: true, ...options });
  }
}

/** No browser to render with: playwright-core is not installed, or no Chromium was found or started. */
export class BrowserUnavailableError extends TrawlError {
  constructor(message: string, options?: TrawlErrorOptions) {
    super('TRAWL_ERR_BROWSER', message, options);
  }
}

export class AbortedError extends TrawlError {
  constructor(message = 'aborted') {
    super('TRAWL_ERR_ABORTED', message);
  }
}

/** Turns anything thrown into a `{ code, message }` pair for records and events, without credentials. */
export function errorRecord(error: unknown): { code: string; message: string } {
  if (error instanceof TrawlError) return { code: error.code, message: error.message };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : error.name, message: redactUrl(error.message) };
  }
  return { code: 'UNKNOWN', message: redactUrl(String(error)) };
}

/**
 * The userinfo (`user:password@`) of a URL, or of every URL in a text, dropped: for anything that
 * goes to a log, a record or a message. Text without such a URL comes back unchanged.
 */
export function redactUrl(text: string): string {
  return text.includes('@') ? text.replace(USERINFO, '$1') : text;
}

/**
 * `scheme://` then the userinfo: everything up to the last `@` before the authority ends, as the
 * URL parser reads it (a password may hold an unescaped `@`).
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#\\@]*(?:@[^\s/?#\\@]*)*@/gi;

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
