/**
 * One page fetched outside a crawl, with the crawl's fetch policy: robots.txt, the per-host limits
 * (robots.txt, redirect hops and retries take their turns), the network guard, timeouts, the body
 * cap, charset detection and the retry backoff. Each call is on its own; for many pages of a site,
 * a crawl keeps the limits across them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeBody } from '../decode.js';
import { AbortedError, InvalidUrlError, OptionError } from '../errors.js';
import { type CrawlSettings, type DnsLookup, resolveOptions } from '../options.js';
import { prepareRequest } from '../request-init.js';
import type { CrawlRequest, FetchedResponse, HttpMethod, RequestInit, RequestOptions } from '../types.js';
import { Fetcher } from './fetcher.js';
import { fetchSettings } from './fetcher-options.js';
import { HostLimits } from './host-limits.js';
import { isRetryable, retryDelayMs } from './retry.js';

/** How one page is fetched: the crawl settings that apply to a fetch (same defaults), and the request's own options. */
export interface FetchPageOptions
  extends
    Pick<
      CrawlSettings,
      | 'userAgent'
      | 'headers'
      | 'timeouts'
      | 'maxBodyBytes'
      | 'maxRedirects'
      | 'retries'
      | 'backoff'
      | 'perHost'
      | 'hosts'
      | 'obeyRobotsTxt'
      | 'allowPrivateNetwork'
      | 'proxy'
      | 'cookies'
      | 'acceptStatus'
      | 'httpCache'
    >,
    Pick<RequestOptions, 'method' | 'body' | 'form' | 'json' | 'acceptBinary'> {
  /** Resolves hostnames (the network guard checks what it returns). @default dns.lookup */
  dnsLookup?: DnsLookup;
  /** Cancels the fetch, its retries and their waits. */
  signal?: AbortSignal;
}

/** Every key of FetchPageOptions, so an unknown one (a crawl-only setting, a typo) is refused. */
const KNOWN: Readonly<Record<keyof FetchPageOptions, true>> = {
  userAgent: true,
  headers: true,
  timeouts: true,
  maxBodyBytes: true,
  maxRedirects: true,
  retries: true,
  backoff: true,
  perHost: true,
  hosts: true,
  obeyRobotsTxt: true,
  allowPrivateNetwork: true,
  proxy: true,
  cookies: true,
  acceptStatus: true,
  httpCache: true,
  method: true,
  body: true,
  form: true,
  json: true,
  acceptBinary: true,
  dnsLookup: true,
  signal: true,
};

/** A fetched page: what a callback's `page` holds, without the parsing. */
export interface FetchedPage {
  /** Final URL after redirects. */
  url: string;
  status: number;
  /** Lower-cased response headers; repeated ones joined (`set-cookie` by newlines). */
  headers: Record<string, string>;
  /** The body decoded with `encoding`. */
  text: string;
  /** The body bytes, decompressed. */
  body: Uint8Array;
  /** The charset the body was decoded with (header, BOM, `<meta>`, or the standard's fallback). */
  encoding: string;
  /** URLs of the redirect hops, in order, without the final one. */
  redirects: string[];
  /** Attempts made, retries included. */
  attempts: number;
  /** Time of the last attempt. */
  elapsedMs: number;
}

/**
 * Fetches one URL as a crawl would fetch it. Private addresses are allowed when `url` is on one
 * (as for a crawl's start URLs), and a redirect may lead to any host. Resolves for a 2xx answer
 * (or an `acceptStatus` one); rejects with the trawl error that ended the last attempt
 * (HttpStatusError, TimeoutError, RobotsDisallowedError, ...).
 */
export async function fetchPage(url: string, options: FetchPageOptions = {}): Promise<FetchedPage> {
  for (const key of Object.keys(options))
    if (!Object.hasOwn(KNOWN, key)) throw new OptionError(`options.${key}`, 'an option of fetchPage', key);
  const { method, body, form, json, acceptBinary, signal, ...settings } = options;
  const resolved = resolveOptions(undefined, settings);
  const request = oneOffRequest(httpUrl(url), { method, body, form, json, acceptBinary });
  const hostLimits = new HostLimits(resolved.perHost, {
    rules: resolved.hosts,
    adaptive: false,
    maxPauseMs: resolved.backoff.maxRetryAfterMs,
  });
  const fetcher = await Fetcher.create({ ...fetchSettings(resolved), hostLimits, startUrls: [request.url] });
  const origin = new URL(request.url).origin;
  try {
    for (;;) {
      // A retry waits for its turn at the host. The first attempt of a fresh limiter has none to
      // wait for, and is not admitted ahead: robots.txt, when it goes first, takes the first turn.
      const release = request.attempts > 0 ? await hostLimits.enter(origin, signal) : undefined;
      request.attempts++;
      let failure: unknown;
      try {
        return toFetchedPage(await fetcher.fetch(request, signal), request.attempts);
      } catch (error) {
        failure = error;
      } finally {
        release?.();
      }
      if (!isRetryable(failure) || request.attempts > resolved.retries) throw failure;
      const delayMs = retryDelayMs(request.attempts, failure, resolved.backoff);
      await sleep(delayMs, undefined, signal ? { signal } : {}).catch(() => {
        throw new AbortedError();
      });
    }
  } finally {
    await fetcher.close();
  }
}

type RequestParts = Pick<FetchPageOptions, 'method' | 'body' | 'form' | 'json' | 'acceptBinary'>;

/** The request a one-off fetch sends: no callback, no dedupe, no attempts yet. */
function oneOffRequest(url: string, parts: RequestParts): CrawlRequest {
  const { acceptBinary, ...rest } = parts;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
  const init = prepareRequest<RequestInit>({ url, ...defined });
  return {
    url: init.url,
    method: (init.method?.toUpperCase() ?? 'GET') as HttpMethod,
    ...(init.headers ? { headers: init.headers } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
    callback: 'parse',
    userData: {},
    priority: 0,
    depth: 0,
    dontFilter: true,
    acceptBinary: acceptBinary ?? false,
    fingerprint: init.url,
    attempts: 0,
  };
}

function toFetchedPage(response: FetchedResponse, attempts: number): FetchedPage {
  return {
    url: response.url,
    status: response.status,
    headers: response.headers,
    text: decodeBody(response.body, response.encoding),
    body: response.body,
    encoding: response.encoding,
    redirects: response.redirects,
    attempts,
    elapsedMs: response.elapsedMs,
  };
}

function httpUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidUrlError(String(url));
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidUrlError(url);
  parsed.hash = '';
  return parsed.href;
}
