import { RedirectError } from '../errors.js';
import type { HttpMethod } from '../types.js';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function isRedirect(status: number, location: unknown): location is string {
  return REDIRECT_STATUSES.has(status) && typeof location === 'string' && location.length > 0;
}

export interface Hop {
  url: string;
  method: HttpMethod;
  /** False when the hop turned the request into a bodiless GET. */
  keepBody: boolean;
}

/**
 * The next hop of a redirect chain, or a `RedirectError` for a bad location, a non-http(s)
 * scheme, a loop (a URL already visited in this chain) or one hop too many. `visited` holds every
 * URL requested so far in the chain, oldest first.
 */
export function nextHop(
  status: number,
  location: string,
  method: HttpMethod,
  visited: readonly string[],
  maxRedirects: number,
): Hop {
  const from = visited[visited.length - 1]!;
  let target: URL;
  try {
    target = new URL(location, from);
  } catch {
    throw new RedirectError(`invalid redirect location ${JSON.stringify(location)} from ${from}`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:')
    throw new RedirectError(`redirect to unsupported scheme ${target.protocol} from ${from}`);
  target.hash = '';
  const url = target.href;
  if (visited.includes(url)) throw new RedirectError(`redirect loop: ${[...visited, url].join(' -> ')}`);
  if (visited.length > maxRedirects)
    throw new RedirectError(`more than ${maxRedirects} redirects from ${visited[0]}`);
  // 303 always becomes GET; 301/302 after a POST do too, as every browser does.
  const toGet = status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST';
  return { url, method: toGet ? 'GET' : method, keepBody: !toGet };
}
