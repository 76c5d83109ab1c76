/**
 * Plain data shapes that cross stage boundaries. Everything here is structured-cloneable so it can
 * travel to worker threads, to a job directory on disk and to Redis unchanged.
 */

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** Structured-cloneable data a callback may yield as an item. */
export type Item = Record<string, unknown>;

/**
 * Form fields: an object (an array value repeats the name, in order), `[name, value]` pairs, or
 * URLSearchParams.
 */
export type FormFields =
  | Record<string, string | number | ReadonlyArray<string | number>>
  | ReadonlyArray<readonly [string, string]>
  | URLSearchParams;

/**
 * How a request is sent and handled; what `page.follow` takes besides the URL. At most one of
 * `body`, `form` and `json` may be given; `request()` and `page.follow` turn them into a string
 * body with its content type before the request leaves the callback.
 */
export interface RequestOptions {
  /** @default 'POST' with `form` or `json`, else 'GET' */
  method?: HttpMethod;
  /** Request headers; a `content-type` set here always wins over the one a body implies. */
  headers?: Record<string, string>;
  /**
   * A raw body. A string goes out as `text/plain;charset=UTF-8` (the Fetch standard's default)
   * and URLSearchParams as `application/x-www-form-urlencoded`, unless `headers` set a content
   * type. Does not change the method.
   */
  body?: string | URLSearchParams;
  /**
   * Fields sent URL-encoded as a browser sends a form (`application/x-www-form-urlencoded`, UTF-8,
   * space as `+`). With POST (the default) they are the body; with GET or HEAD they replace the
   * URL's query, as a GET form does.
   */
  form?: FormFields;
  /** A value sent as JSON (`content-type: application/json`). */
  json?: unknown;
  /**
   * Statuses outside 2xx whose responses go to the callback (`page.status` tells) instead of
   * failing the request, like Scrapy's `handle_httpstatus_list`; an accepted status is never
   * retried, and an accepted redirect status is not followed. Replaces the crawl's
   * `acceptStatus` for this request. @default the crawl's `acceptStatus`
   */
  acceptStatus?: number[];
  /** Free-form data handed to the callback as `page.request.userData`. */
  userData?: Record<string, unknown>;
  /** Higher runs first. @default 0 */
  priority?: number;
  /** Skip the duplicate filter for this request. @default false */
  dontFilter?: boolean;
  /** Fetch even if the content type is not text (images, PDFs, ...). @default false */
  acceptBinary?: boolean;
  /**
   * Load the page in Chromium and parse the DOM after its scripts ran: `true`, options for the
   * wait, or `false` to fetch plainly under a spider whose `render` setting is on.
   * @default the crawl's `render` setting
   */
  render?: boolean | RenderOptions;
}

/** Resource types a rendered page may ask for, as Chromium names them. */
export type ResourceType =
  | 'document'
  | 'stylesheet'
  | 'image'
  | 'media'
  | 'font'
  | 'script'
  | 'texttrack'
  | 'xhr'
  | 'fetch'
  | 'eventsource'
  | 'websocket'
  | 'manifest'
  | 'other';

/**
 * How a page is rendered. Callbacks run in worker threads and never hold the browser page, so
 * everything done in the browser (waits, scrolls, the screenshot) is said here, and happens before
 * the HTML is taken.
 */
export interface RenderOptions {
  /** A CSS selector to wait for after the load event; its absence fails the page. */
  waitFor?: string;
  /** Wait until the network has been quiet for 500 ms. @default false */
  networkIdle?: boolean;
  /** Scroll to the bottom up to this many times, each time waiting for the page to grow (infinite scroll). @default 0 */
  scroll?: number;
  /** How long one scroll waits for the page to grow before scrolling stops. @default 2000 */
  scrollWaitMs?: number;
  /** Take a full-page PNG screenshot, handed to the callback as `page.screenshot`. @default false */
  screenshot?: boolean;
  /** Hosts besides the page's own that its sub-requests may go to; `'*'` for any. @default [] */
  allowHosts?: string[] | '*';
  /** Sub-requests refused by resource type. @default ['image', 'font', 'media'] */
  blockResources?: ResourceType[];
}

/** What a spider or callback asks to be fetched. Only `url` is required. */
export interface RequestInit extends RequestOptions {
  url: string;
  /** Name of the spider callback that parses the response. @default 'parse' */
  callback?: string;
}

/** A request once the frontier has accepted it: canonical, with its depth and fingerprint. */
export interface CrawlRequest {
  url: string;
  method: HttpMethod;
  headers?: Record<string, string>;
  body?: string;
  callback: string;
  userData: Record<string, unknown>;
  priority: number;
  depth: number;
  dontFilter: boolean;
  acceptBinary: boolean;
  /** Non-2xx statuses handed to the callback; absent = the crawl's `acceptStatus`. */
  acceptStatus?: number[];
  fingerprint: string;
  /** URL of the page this request was found on, if any. */
  referrer?: string;
  /** Fetch attempts made so far (0 before the first). */
  attempts: number;
  /** Earliest time (epoch ms) the next attempt may start; set by the retry backoff. */
  notBefore?: number;
  /** How many times the parse of this request's response has been retried after a worker crash. */
  parseAttempts?: number;
  /**
   * The last attempt timed out or lost its connection: the retry waits behind the fresh requests
   * of its host, so one URL that never answers does not keep taking the host's turns.
   */
  slow?: boolean;
  /** A revisit of a page fetched before: its validators, sent as conditional headers. */
  revisit?: PageValidators;
  /** Render in Chromium (see `RequestOptions.render`); absent: the crawl's setting. */
  render?: boolean | RenderOptions;
}

/** What a page's earlier fetch left to tell whether it changed; no body is kept. */
export interface PageValidators {
  etag?: string;
  lastModified?: string;
  /** SHA-256 of the decompressed body, base64url. */
  sha256?: string;
}

/** A fetched response as the fetcher hands it to the parser stage. */
export interface FetchedResponse {
  /** Final URL after redirects. */
  url: string;
  status: number;
  headers: Record<string, string>;
  /** Decompressed body bytes. Transferred (not copied) to the parser worker. */
  body: Uint8Array;
  /** Character encoding detected from header, BOM or <meta>, as a WHATWG label. */
  encoding: string;
  /** URLs of each redirect hop, in order, excluding the final URL. */
  redirects: string[];
  /** Attempts the fetch took (1 when it succeeded the first time). */
  attempts: number;
  /** Bytes received on the wire, before decompression. */
  wireBytes: number;
  elapsedMs: number;
  /** True when the response came from the HTTP cache and the site was not contacted. */
  fromCache?: boolean;
  /** A full-page PNG of a rendered page that asked for one. */
  screenshot?: Uint8Array;
}

/** A request that ended without being parsed, as written to the failures file. */
export interface FailureRecord {
  url: string;
  status?: number;
  error: { code: string; message: string };
  attempts: number;
  callback: string;
  stage: 'fetch' | 'parse' | 'callback' | 'item';
  depth: number;
}
