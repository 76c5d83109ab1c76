import { createHash } from 'node:crypto';
import { InvalidUrlError } from '../errors.js';

/**
 * The canonical form equivalent spellings of a URL share, by RFC 3986 section 6.2.2 on top of the
 * WHATWG URL parser (which already lower-cases scheme and host, drops the default port, gives an
 * empty path as "/" and removes dot segments, `%2e` spellings included): percent-encodings are
 * upper-cased and those of unreserved characters decoded (`%7e` and `%7E` are `~`) in userinfo,
 * path and query; the fragment and an empty query are dropped; query parameters are sorted by
 * name (stable, so repeated names keep their order) without re-encoding them, so `%20` and `+`
 * stay what the server sees.
 */
export function canonicalUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new InvalidUrlError(input);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidUrlError(input, 'only http(s) is crawled');
  const userinfo = url.username
    ? `${normalizePercent(url.username)}${url.password ? `:${normalizePercent(url.password)}` : ''}@`
    : '';
  const query = url.search.length > 1 ? `?${sortQuery(normalizePercent(url.search.slice(1)))}` : '';
  return `${url.protocol}//${userinfo}${url.host}${normalizePercent(url.pathname)}${query}`;
}

const PERCENT_ENCODED = /%([0-9a-fA-F]{2})/g;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** RFC 3986 6.2.2.1 and 6.2.2.2: `%7e` -> `~`, `%2f` -> `%2F`; malformed `%zz` stays as it is. */
function normalizePercent(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(PERCENT_ENCODED, (_, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

function sortQuery(query: string): string {
  if (!query.includes('&')) return query;
  const pairs = query.split('&').map((pair, i) => {
    const eq = pair.indexOf('=');
    return { name: eq < 0 ? pair : pair.slice(0, eq), pair, i };
  });
  pairs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.i - b.i));
  return pairs.map((p) => p.pair).join('&');
}

/** Identity of a request for dedupe: canonical URL plus method and body. */
export function fingerprint(canonical: string, method = 'GET', body?: string): string {
  const hash = createHash('sha1');
  hash.update(method.toUpperCase());
  hash.update('\n');
  hash.update(canonical);
  if (body) {
    hash.update('\n');
    hash.update(body);
  }
  return hash.digest('base64url').slice(0, 22);
}
