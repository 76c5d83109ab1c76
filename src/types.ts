/**
 * Plain data shapes that cross stage boundaries. Everything here is structured-cloneable so it can
 * travel to worker threads, to a job directory on disk and to Redis unchanged.
 */

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** Structured-cloneable data a callback may yield as an item. */
export type Item = Record<string, unknown>;

/** What a spider or callback asks to be fetched. Only `url` is required. */
export interface RequestInit {
  url: string;
  /** @default 'GET' */
  method?: HttpMethod;
  headers?: Record<string, string>;
  body?: string;
  /** Name of the spider callback that parses the response. @default 'parse' */
  callback?: string;
  /** Free-form data handed to the callback as `page.request.userData`. */
  userData?: Record<string, unknown>;
  /** Higher runs first. @default 0 */
  priority?: number;
  /** Skip the duplicate filter for this request. @default false */
  dontFilter?: boolean;
  /** Fetch even if the content type is not text (images, PDFs, ...). @default false */
  acceptBinary?: boolean;
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
  fingerprint: string;
  /** URL of the page this request was found on, if any. */
  referrer?: string;
  /** Fetch attempts made so far (0 before the first). */
  attempts: number;
  /** Earliest time (epoch ms) the next attempt may start; set by the retry backoff. */
  notBefore?: number;
  /** How many times the parse of this request's response has been retried after a worker crash. */
  parseAttempts?: number;
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
