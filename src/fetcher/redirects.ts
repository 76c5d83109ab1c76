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
  /** True when the hop leads to another origin than the URL it redirects from. */
  crossOrigin: boolean;
}

/** Headers that describe the body; they go with it (Fetch standard, HTTP-redirect fetch). */
const BODY_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
];
/**
 * Credentials meant for the origin they were set for. The Fetch standard removes Authorization on
 * a redirect to another origin; a Cookie header set by hand goes too (the jar sends the new
 * host's own cookies), as does Proxy-Authorization.
 */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/** Names of the request headers that must not go on to this hop (lower case). */
export function headersToDrop(hop: Hop): string[] {
  if (hop.keepBody) return hop.crossOrigin ? CREDENTIAL_HEADERS : [];
  return hop.crossOrigin ? [...BODY_HEADERS, ...CREDENTIAL_HEADERS] : BODY_HEADERS;
}

/** `headers` without the given names, in any spelling; the same object when none is there. */
export function withoutHeaders(
  headers: Readonly<Record<string, string>>,
  names: readonly string[],
): Readonly<Record<string, string>> {
  const keys = Object.keys(headers);
  if (!keys.some((key) => names.includes(key.toLowerCase()))) return headers;
  const kept: Record<string, string> = {};
  for (const key of keys) if (!names.includes(key.toLowerCase())) kept[key] = headers[key]!;
  return kept;
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
  // 303 turns anything but GET and HEAD into GET; 301/302 turn a POST into one, as every browser
  // does (Fetch standard). 307 and 308 keep the method and the body.
  const toGet =
    status === 303
      ? method !== 'GET' && method !== 'HEAD'
      : (status === 301 || status === 302) && method === 'POST';
  return {
    url,
    method: toGet ? 'GET' : method,
    keepBody: !toGet,
    crossOrigin: target.origin !== new URL(from).origin,
  };
}
