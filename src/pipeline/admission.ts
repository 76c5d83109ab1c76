import { InvalidUrlError } from '../errors.js';
import { prepareRequest } from '../request-init.js';
import type { CrawlRequest, HttpMethod, RequestInit } from '../types.js';
import { canonicalUrl, fingerprint } from './fingerprint.js';

/** Why a request was not queued. */
export type Rejection = 'duplicate' | 'depth' | 'offsite' | 'invalid' | 'trap';

export interface FrontierPolicy {
  maxDepth: number;
  /** Lower-cased hostnames followed links may go to; undefined = any. */
  allowedHosts: Set<string> | undefined;
}

/**
 * Turns a request found on `parent` (or a start request) into a `CrawlRequest`, or says why not.
 * Start requests bypass the host filter: they define it. `isNew` is the store's seen set, asked
 * last so only a request that passed every other check joins it.
 */
export function admit(
  given: RequestInit,
  parent: CrawlRequest | undefined,
  policy: FrontierPolicy,
  isNew: (fingerprint: string) => boolean,
): CrawlRequest | Rejection {
  // Start entries arrive as written; requests from callbacks come prepared already.
  const init = prepareRequest(given);
  let url: string;
  try {
    url = canonicalUrl(init.url);
  } catch (error) {
    if (error instanceof InvalidUrlError) return 'invalid';
    throw error;
  }
  const depth = parent ? parent.depth + 1 : 0;
  if (depth > policy.maxDepth) return 'depth';
  if (parent && policy.allowedHosts && !policy.allowedHosts.has(new URL(url).hostname)) return 'offsite';
  if (parent && looksLikeTrap(url)) return 'trap';
  const method = (init.method ?? 'GET').toUpperCase() as HttpMethod;
  const fp = fingerprint(url, method, init.body);
  if (!init.dontFilter && !isNew(fp)) return 'duplicate';
  return {
    url,
    method,
    callback: init.callback ?? 'parse',
    userData: init.userData ?? {},
    priority: init.priority ?? 0,
    depth,
    dontFilter: init.dontFilter ?? false,
    acceptBinary: init.acceptBinary ?? false,
    fingerprint: fp,
    attempts: 0,
    ...(init.headers ? { headers: init.headers } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
    ...(init.acceptStatus !== undefined ? { acceptStatus: init.acceptStatus } : {}),
    ...(init.render !== undefined ? { render: init.render } : {}),
    ...(parent ? { referrer: parent.url } : {}),
  };
}

/** Longest followed URL; browsers and servers commonly stop near 2,000 characters. */
const MAX_URL_LENGTH = 2048;
/** Deepest followed path. */
const MAX_PATH_SEGMENTS = 32;
/** A path segment seen more often than this in one path marks a trap (/a/b/a/b/a/b/...). */
const MAX_SEGMENT_REPEATS = 3;

/**
 * Spider traps that generate endless distinct URLs from relative links (`/a/b/a/b/...`, ever longer
 * query strings) are cut off here, for followed links only: a start URL is the user's choice.
 * Traps that only vary a query value (an endless calendar) are bounded by maxDepth and maxPages.
 */
function looksLikeTrap(url: string): boolean {
  if (url.length > MAX_URL_LENGTH) return true;
  const path = url.slice(url.indexOf('/', url.indexOf('//') + 2)).split(/[?#]/, 1)[0]!;
  const segments = path.split('/').filter(Boolean);
  if (segments.length > MAX_PATH_SEGMENTS) return true;
  const counts = new Map<string, number>();
  for (const segment of segments) {
    const n = (counts.get(segment) ?? 0) + 1;
    if (n > MAX_SEGMENT_REPEATS) return true;
    counts.set(segment, n);
  }
  return false;
}
