import { Agent, type Dispatcher, ProxyAgent, errors as undiciErrors } from 'undici';
import { abortable } from '../abortable.js';
import {
  ContentTypeSkippedError,
  HttpStatusError,
  RobotsDisallowedError,
  RobotsUnavailableError,
} from '../errors.js';
import { DEFAULTS } from '../options.js';
import type { CrawlRequest, FetchedResponse, HttpMethod } from '../types.js';
import { AddressGuard, startsOnPrivateNetwork } from './address-guard.js';
import { readResponseBody } from './body.js';
import { HttpCache } from './cache.js';
import { detectEncoding } from './charset.js';
import { CookieSession } from './cookies.js';
import { type Attempt, DeadlineWatch } from './deadline.js';
import { Exchange } from './exchange.js';
import { classifyFetchError } from './fetch-errors.js';
import type { CreateFetcherOptions, FetcherOptions } from './fetcher-options.js';
import { requestHeaders } from './conditional.js';
import { headersToDrop, isRedirect, nextHop, withoutHeaders } from './redirects.js';
import { parseRetryAfter } from './retry.js';
import { loadRobotsTxt } from './robots-loader.js';
import { RobotsCache, type RobotsRules, type RobotsVerdict } from './robots.js';
import { renderFor, type ResolvedRender } from '../render/renderer.js';
import { type BrowserLoadContext, loadInBrowser } from './browser-load.js';
import { renderedResponse } from './rendered-response.js';

const TEXT_TYPES =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|ecmascript|x-www-form-urlencoded)|application\/(rss|atom)\+xml|image\/svg\+xml)/i;
const ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,application/json;q=0.8,*/*;q=0.7';
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * One HTTP attempt per `fetch`, composed in this order: cache, robots.txt, then hop by hop
 * (network guard, host filters, host turn, cookies, request, redirect), then status, content
 * type, capped body and charset. Retries and the wait for a host slot are the pipeline's, so a
 * request waiting on a backoff or a busy host holds no slot.
 */
export class Fetcher {
  private readonly dispatcher: Dispatcher;
  private readonly guard: AddressGuard;
  private readonly robots: RobotsCache;
  private readonly cookies: CookieSession | undefined;
  private readonly robotsOn: boolean;
  private readonly deadlines = new DeadlineWatch();
  /** Headers every page request sends; built once, never mutated. */
  private readonly pageHeaders: Readonly<Record<string, string>>;
  private readonly robotsHeaders: Readonly<Record<string, string>>;
  /** What a rendered page shares with this fetcher; undefined when the crawl never renders. */
  private readonly browser: BrowserLoadContext | undefined;

  /** Builds a fetcher, deciding the private-network default from the start URLs and opening the cache. */
  static async create(options: CreateFetcherOptions): Promise<Fetcher> {
    const { startUrls = [], httpCache, ...rest } = options;
    const allowPrivateNetwork =
      options.allowPrivateNetwork ?? (await startsOnPrivateNetwork(startUrls, options.lookup));
    const cache = httpCache ? await HttpCache.open(httpCache) : undefined;
    return new Fetcher({ ...rest, allowPrivateNetwork, ...(cache ? { cache } : {}) });
  }

  constructor(private readonly options: FetcherOptions) {
    this.guard = new AddressGuard({
      allowPrivate: options.allowPrivateNetwork ?? false,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    const common = {
      connections: options.connectionsPerOrigin ?? 16,
      headersTimeout: options.timeouts.headersMs,
      bodyTimeout: options.timeouts.bodyIdleMs,
      keepAliveTimeout: 10_000,
      // Real sites send 20-40 KB of Set-Cookie or CSP now and then; browsers take far more than
      // undici's 16 KB default. Past this the response fails as a recorded network error.
      maxHeaderSize: MAX_HEADER_BYTES,
    };
    const base = options.proxy
      ? new ProxyAgent({ uri: options.proxy, ...common })
      : new Agent({
          ...common,
          connect: { timeout: options.timeouts.connectMs, lookup: this.guard.lookup },
        });
    this.dispatcher = base;
    this.robots = new RobotsCache({
      userAgent: options.userAgent,
      load: (origin) => {
        const load = () =>
          loadRobotsTxt(origin, {
            guard: this.guard,
            deadlines: this.deadlines,
            timeouts: options.timeouts,
            ...(options.hostLimits ? { hostLimits: options.hostLimits } : {}),
            send: (target, attempt) =>
              this.send(target, target.origin, 'GET', this.robotsHeaders, undefined, attempt),
            observe: (origin, status, startedMs) => this.observe(origin, status, startedMs),
          });
        return options.sharedRobots ? options.sharedRobots(origin, load) : load();
      },
    });
    this.robotsOn = options.obeyRobotsTxt ?? DEFAULTS.obeyRobotsTxt;
    this.cookies =
      (options.cookies ?? DEFAULTS.cookies) ? (options.cookieJar ?? new CookieSession()) : undefined;
    const always = { 'user-agent': options.userAgent, 'accept-encoding': 'gzip, deflate, br' };
    this.pageHeaders = { ...always, accept: ACCEPT, ...options.headers };
    this.robotsHeaders = { ...always, accept: 'text/plain,*/*;q=0.5' };
    this.browser = options.renderer && {
      renderer: options.renderer,
      guard: this.guard,
      hostLimits: options.hostLimits,
      cookies: this.cookies?.forBrowser(),
      totalMs: options.timeouts.totalMs,
      maxBodyBytes: options.maxBodyBytes,
      observe: (origin, outcome, startedMs) => this.observe(origin, outcome, startedMs),
    };
  }

  async fetch(request: CrawlRequest, signal?: AbortSignal): Promise<FetchedResponse> {
    // The start the pipeline admitted for this origin; the first request on the wire uses it.
    // Parsed once here; every later step takes this URL object.
    const target = new URL(request.url);
    const admission: Admission = {
      target,
      origin: target.origin,
      pending: true,
      repeat: request.attempts > 1,
    };
    const started = performance.now();
    let attempt: Attempt | undefined;
    try {
      // Awaits are skipped on the hot path where nothing would be waited for: each costs req/s.
      const cached = this.options.cache ? await this.options.cache.get(request) : undefined;
      // A cached error answer this request does not accept is not an answer: ask the site.
      if (cached && (cached.status < 400 || this.accepts(request, cached.status))) return cached;
      if (this.robotsOn) {
        let verdict = this.robots.peek(admission.origin);
        if (!verdict) {
          // robots.txt goes first and takes its own turn; the page takes the next one.
          this.settle(admission);
          verdict = await abortable(this.robots.get(admission.origin), signal);
        }
        this.obeyRobots(target, verdict);
      }
      const render = this.browser ? renderFor(request.render, this.options.render ?? false) : undefined;
      if (render) return await this.rendered(request, admission, render, signal, started);
      attempt = this.deadlines.start(this.options.timeouts.totalMs, signal);
      let answer = await this.hop(
        target,
        request.method,
        requestHeaders(request),
        request.body,
        admission,
        attempt,
      );
      let redirects: string[] = [];
      if (isRedirect(answer.status, answer.headers.location) && !this.accepts(request, answer.status))
        ({ answer, redirects } = await this.follow(request, answer, admission, attempt));
      this.accept(request, answer);
      const read = readResponseBody(answer, answer.headers, this.options.maxBodyBytes);
      // A body that has already arrived is taken without another tick.
      const { body, wireBytes } = read instanceof Promise ? await read : read;
      const response: FetchedResponse = {
        url: answer.url,
        status: answer.status,
        headers: answer.headers,
        body,
        encoding: detectEncoding(answer.headers['content-type'], body),
        redirects,
        attempts: 1,
        wireBytes,
        elapsedMs: performance.now() - started,
      };
      if (this.options.cache) await this.options.cache.set(request, response);
      return response;
    } catch (error) {
      throw classifyFetchError(error, attempt?.expired ?? false, signal, this.options.timeouts);
    } finally {
      if (attempt) this.deadlines.end(attempt);
      this.settle(admission);
    }
  }

  /** Whether the origin's robots.txt verdict is at hand (no fetch needed before its next request). */
  knowsRobots(origin: string): boolean {
    return !this.robotsOn || this.robots.peek(origin) !== undefined;
  }

  /** The robots.txt rules of an origin (fetched if needed), e.g. for its `Sitemap:` lines. */
  async robotsFor(origin: string): Promise<RobotsRules | undefined> {
    const verdict = await this.robots.get(origin);
    return verdict.kind === 'rules' ? verdict.rules : undefined;
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      this.dispatcher.destroy(),
      this.options.cache?.close(),
      this.options.renderer?.close(),
    ]);
  }

  /**
   * The page loaded in the browser instead of over undici, on the same admitted turn and behind the
   * same guard: its address is checked after DNS, its sub-requests to other hosts pass the guard too,
   * and a redirect off the crawl's hosts is refused. The body is the DOM as HTML, in UTF-8.
   */
  private async rendered(
    request: CrawlRequest,
    admission: Admission,
    render: ResolvedRender,
    signal: AbortSignal | undefined,
    started: number,
  ): Promise<FetchedResponse> {
    const { target, origin } = admission;
    await this.guard.checkResolved(target);
    // After a robots.txt fetch used the admitted start, the page waits for the next turn, as a hop does.
    if (!this.usesAdmission(origin, admission)) await this.options.hostLimits?.turn(origin, signal);
    const page = await loadInBrowser(this.browser!, target, request.headers, render, signal);
    if (page.url !== target.href) this.options.checkRedirect?.(page.url);
    if (page.status >= 400 && !this.accepts(request, page.status))
      throw new HttpStatusError(page.status, page.url, page.headers['retry-after']);
    return renderedResponse(page, started);
  }

  /** Follows a redirect answer hop by hop; returns the first answer that is not a redirect. */
  private async follow(
    request: CrawlRequest,
    first: Exchange,
    admission: Admission,
    attempt: Attempt,
  ): Promise<{ answer: Exchange; redirects: string[] }> {
    const visited: string[] = [request.url];
    let method = request.method;
    let body = request.body;
    // The crawl's headers under the request's, until a hop has to take some away.
    let base = this.pageHeaders;
    let headers = requestHeaders(request);
    let answer = first;
    while (isRedirect(answer.status, answer.headers.location) && !this.accepts(request, answer.status)) {
      answer.discard();
      const next = nextHop(
        answer.status,
        answer.headers.location,
        method,
        visited,
        this.options.maxRedirects,
      );
      this.options.checkRedirect?.(next.url);
      method = next.method;
      if (!next.keepBody) body = undefined;
      const drop = headersToDrop(next);
      if (drop.length > 0) {
        base = withoutHeaders(headers ? { ...base, ...headers } : base, drop);
        headers = undefined;
      }
      visited.push(next.url);
      await this.checkRobotsAsync(next.url, attempt.signal);
      answer = await this.hop(next.url, method, headers, body, admission, attempt, base);
    }
    return { answer, redirects: visited.slice(0, -1) };
  }

  /** One request on the wire: network guard, a turn in the host limits, cookies, then the request. */
  private async hop(
    location: string | URL,
    method: HttpMethod,
    headers: Record<string, string> | undefined,
    body: string | undefined,
    admission: Admission,
    attempt: Attempt,
    base: Readonly<Record<string, string>> = this.pageHeaders,
  ): Promise<Exchange> {
    const target = typeof location === 'string' ? new URL(location) : location;
    const url = target.href;
    // The admitted origin's string is reused so the maps keyed by origin hash it only once.
    const origin = target === admission.target ? admission.origin : target.origin;
    if (this.options.proxy) await this.guard.checkResolved(target);
    else this.guard.checkUrl(target);
    const release = this.usesAdmission(origin, admission)
      ? undefined
      : await this.takeTurn(origin, admission, attempt.signal);
    try {
      const cookie = this.cookies?.mayHaveCookies(target.hostname)
        ? await this.cookies.header(url)
        : undefined;
      const started = performance.now();
      const exchange = this.send(
        target,
        origin,
        method,
        // The shared default object is used as is unless this request adds something.
        cookie || headers ? { ...(cookie ? { cookie } : {}), ...base, ...headers } : base,
        body,
        attempt,
      );
      try {
        await exchange.head;
      } catch (error) {
        if (!exchange.sent) this.options.hostLimits?.unsent(origin);
        const timedOut =
          error instanceof undiciErrors.HeadersTimeoutError ||
          error instanceof undiciErrors.ConnectTimeoutError;
        this.observe(origin, timedOut ? 'timeout' : 'error', started, undefined, admission.repeat);
        throw error;
      }
      const flat = exchange.headers;
      const retryAfter = flat['retry-after'] ? parseRetryAfter(flat['retry-after'], Date.now()) : undefined;
      this.observe(origin, exchange.status, started, retryAfter, admission.repeat);
      const setCookie = flat['set-cookie'];
      if (setCookie !== undefined && this.cookies) await this.cookies.store(url, setCookie.split('\n'));
      return exchange;
    } finally {
      release?.();
    }
  }

  /**
   * Hands one request to the dispatcher. The host limits are told the moment it is written to
   * the socket (after connect and TLS); `head` rejects if it never gets there, and `sent` says so.
   */
  private send(
    target: URL,
    origin: string,
    method: HttpMethod,
    headers: Record<string, string>,
    body: string | undefined,
    attempt: Attempt,
  ): Exchange {
    const limits = this.options.hostLimits;
    const exchange = new Exchange(target.href, (controller) => {
      limits?.sent(origin);
      attempt.attach(controller);
    });
    try {
      attempt.throwIfCancelled();
      this.dispatcher.dispatch(
        { origin, path: `${target.pathname}${target.search}`, method, headers, body: body ?? null },
        exchange,
      );
    } catch (error) {
      exchange.onResponseError(undefined, error as Error);
    }
    return exchange;
  }

  /**
   * Every request is a start as the server sees it. The first one to the admitted origin uses the
   * pipeline's admission; later ones to it (a hop back) wait for the gap; one to another origin
   * waits for a slot there too, held only for that hop.
   */
  private async takeTurn(
    origin: string,
    admission: Admission,
    signal: AbortSignal | undefined,
  ): Promise<(() => void) | undefined> {
    const limits = this.options.hostLimits;
    if (!limits) return undefined;
    if (origin === admission.origin) {
      await limits.turn(origin, signal);
      return undefined;
    }
    return limits.enter(origin, signal);
  }

  /** True (and the admission used up) when this request is the admitted start itself. */
  private usesAdmission(origin: string, admission: Admission): boolean {
    if (origin !== admission.origin || !admission.pending) return false;
    admission.pending = false;
    return true;
  }

  /** Gives back an admitted start that was not used. */
  private settle(admission: Admission): void {
    if (!admission.pending) return;
    admission.pending = false;
    this.options.hostLimits?.unsent(admission.origin);
  }

  /** Whether the request takes this status as an answer (its own list, else the crawl's). */
  private accepts(request: CrawlRequest, status: number): boolean {
    const list = request.acceptStatus ?? this.options.acceptStatus;
    return list !== undefined && list.includes(status);
  }

  /**
   * Refuses an error status the request does not accept, or a skipped content type, before any
   * of the body is read.
   */
  private accept(request: CrawlRequest, answer: Exchange): void {
    const { url, status, headers } = answer;
    if (status >= 400 && !this.accepts(request, status)) {
      answer.discard();
      throw new HttpStatusError(status, url, headers['retry-after']);
    }
    const contentType = headers['content-type'];
    if (
      !request.acceptBinary &&
      contentType &&
      !contentType.startsWith('text/') &&
      !TEXT_TYPES.test(contentType)
    ) {
      answer.discard();
      throw new ContentTypeSkippedError(contentType.split(';')[0]!.trim());
    }
  }

  /** Throws when the cached robots.txt verdict forbids the URL or says the file is unavailable. */
  private checkRobots(url: string): void {
    if (!this.robotsOn) return;
    const target = new URL(url);
    const verdict = this.robots.peek(target.origin);
    if (verdict) this.obeyRobots(target, verdict);
  }

  private obeyRobots(target: URL, verdict: RobotsVerdict): void {
    if (verdict.kind === 'down') throw verdict.error;
    if (verdict.kind === 'unavailable') {
      const retryMs = Math.max(0, verdict.retryAtMs - Date.now());
      throw new RobotsUnavailableError(target.origin, verdict.reason, retryMs);
    }
    if (verdict.rules.crawlDelayMs !== undefined)
      this.options.hostLimits?.setCrawlDelay(target.origin, verdict.rules.crawlDelayMs);
    if (!verdict.rules.isAllowed(target)) throw new RobotsDisallowedError(target.href);
  }

  /** The same check for a redirect hop, fetching that origin's robots.txt first if needed. */
  private async checkRobotsAsync(url: string, signal: AbortSignal | undefined): Promise<void> {
    if (!this.robotsOn) return;
    await abortable(this.robots.get(new URL(url).origin), signal);
    this.checkRobots(url);
  }

  private observe(
    origin: string,
    outcome: number | 'timeout' | 'error',
    startedMs: number,
    retryAfterMs?: number,
    repeat = false,
  ) {
    const capped =
      retryAfterMs === undefined
        ? undefined
        : Math.min(retryAfterMs, this.options.maxRetryAfterMs ?? DEFAULTS.backoff.maxRetryAfterMs);
    this.options.hostLimits?.observe(origin, outcome, performance.now() - startedMs, capped, repeat);
  }
}

interface Admission {
  /** The URL the fetch was asked for, parsed once. */
  target: URL;
  origin: string;
  /** True until the admitted start is used by a request on the wire or given back. */
  pending: boolean;
  /** A retry: its timeout or failure is no news about the host (see ThrottleState). */
  repeat: boolean;
}
