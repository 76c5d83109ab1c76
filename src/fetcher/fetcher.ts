import { Agent, type Dispatcher, errors as undiciErrors } from 'undici';
import {
  AbortedError,
  ContentTypeSkippedError,
  HttpStatusError,
  NetworkError,
  RedirectError,
  TimeoutError,
  TrawlError,
} from '../errors.js';
import type { TimeoutOptions } from '../options.js';
import type { CrawlRequest, FetchedResponse } from '../types.js';
import { readBody } from './body.js';
import { detectEncoding } from './charset.js';

export interface FetcherOptions {
  userAgent: string;
  headers: Record<string, string>;
  timeouts: Required<TimeoutOptions>;
  maxBodyBytes: number;
  maxRedirects: number;
  /** Sockets kept per origin; the scheduler's per-host limit is what bounds use. @default 16 */
  connectionsPerOrigin?: number;
  /** Called for every redirect hop before it is followed; throw to refuse it. */
  checkRedirect?: (url: string) => void;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const TEXT_TYPES =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|ecmascript|x-www-form-urlencoded)|application\/(rss|atom)\+xml|image\/svg\+xml)/i;

/**
 * One HTTP attempt per call, redirects followed hop by hop. Retries, host limits and robots are
 * composed around it by the pipeline, so a request waiting on a backoff holds no slot.
 */
export class Fetcher {
  private readonly agent: Agent;

  constructor(private readonly options: FetcherOptions) {
    this.agent = new Agent({
      connections: options.connectionsPerOrigin ?? 16,
      connect: { timeout: options.timeouts.connectMs },
      headersTimeout: options.timeouts.headersMs,
      bodyTimeout: options.timeouts.bodyIdleMs,
      keepAliveTimeout: 10_000,
      maxRedirections: 0,
    } as Agent.Options);
  }

  async fetch(request: CrawlRequest, signal?: AbortSignal): Promise<FetchedResponse> {
    const started = performance.now();
    const total = AbortSignal.timeout(this.options.timeouts.totalMs);
    const combined = signal ? AbortSignal.any([signal, total]) : total;
    const redirects: string[] = [];
    let url = request.url;
    let method = request.method;
    let body = request.body;
    try {
      for (;;) {
        const response = await this.dispatch(url, method, request, body, combined);
        const location = response.headers.location;
        if (REDIRECT_STATUSES.has(response.statusCode) && typeof location === 'string') {
          discard(response.body);
          const next = this.nextHop(url, location, redirects);
          redirects.push(url);
          if (
            response.statusCode === 303 ||
            ((response.statusCode === 301 || response.statusCode === 302) && method === 'POST')
          ) {
            method = 'GET';
            body = undefined;
          }
          url = next;
          continue;
        }
        const headers = flattenHeaders(response.headers);
        if (response.statusCode >= 400) {
          discard(response.body);
          throw new HttpStatusError(response.statusCode, url, headers['retry-after']);
        }
        const contentType = headers['content-type'];
        if (!request.acceptBinary && contentType && !TEXT_TYPES.test(contentType)) {
          discard(response.body);
          throw new ContentTypeSkippedError(contentType.split(';')[0]!.trim());
        }
        const { body: bytes, wireBytes } = await readBody(
          response.body,
          headers['content-encoding'],
          this.options.maxBodyBytes,
          combined,
        );
        return {
          url,
          status: response.statusCode,
          headers,
          body: bytes,
          encoding: detectEncoding(contentType, bytes),
          redirects,
          attempts: 1,
          wireBytes,
          elapsedMs: performance.now() - started,
        };
      }
    } catch (error) {
      throw this.classify(error, total, signal);
    }
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }

  private async dispatch(
    url: string,
    method: string,
    request: CrawlRequest,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const target = new URL(url);
    return this.agent.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method: method as Dispatcher.HttpMethod,
      headers: {
        'user-agent': this.options.userAgent,
        accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,application/json;q=0.8,*/*;q=0.7',
        'accept-encoding': 'gzip, deflate, br',
        ...this.options.headers,
        ...request.headers,
      },
      body: body ?? null,
      signal,
    });
  }

  private nextHop(from: string, location: string, seen: string[]): string {
    let next: string;
    try {
      next = new URL(location, from).href;
    } catch {
      throw new RedirectError(`invalid redirect location ${JSON.stringify(location)} from ${from}`);
    }
    if (!/^https?:$/.test(new URL(next).protocol))
      throw new RedirectError(`redirect to unsupported scheme: ${next}`);
    if (seen.includes(next) || next === from) throw new RedirectError(`redirect loop at ${next}`);
    if (seen.length + 1 > this.options.maxRedirects)
      throw new RedirectError(`more than ${this.options.maxRedirects} redirects from ${seen[0] ?? from}`);
    this.options.checkRedirect?.(next);
    return next.replace(/#.*$/, '');
  }

  private classify(error: unknown, total: AbortSignal, signal: AbortSignal | undefined): TrawlError {
    if (error instanceof TrawlError) return error;
    if (signal?.aborted) return new AbortedError();
    if (total.aborted) return new TimeoutError('total', this.options.timeouts.totalMs, { cause: error });
    if (error instanceof undiciErrors.ConnectTimeoutError)
      return new TimeoutError('connect', this.options.timeouts.connectMs, { cause: error });
    if (error instanceof undiciErrors.HeadersTimeoutError)
      return new TimeoutError('headers', this.options.timeouts.headersMs, { cause: error });
    if (error instanceof undiciErrors.BodyTimeoutError)
      return new TimeoutError('body', this.options.timeouts.bodyIdleMs, { cause: error });
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    return new NetworkError(code ? `${code}: ${message}` : message, { cause: error });
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value)
      ? value.join(name.toLowerCase() === 'set-cookie' ? '\n' : ', ')
      : value;
  }
  return out;
}

/** Drops a body we will not read; a small one is drained so the socket can be reused. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.dump({ limit: 64 * 1024 }).catch(() => {});
}
