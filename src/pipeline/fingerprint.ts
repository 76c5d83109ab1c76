import { createHash } from 'node:crypto';
import { InvalidUrlError } from '../errors.js';

/**
 * The canonical form two equivalent URLs share: scheme and host lower-cased, default port, fragment
 * and empty query dropped, query parameters sorted (stable, so repeated keys keep their order).
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
  url.hash = '';
  if (url.search) url.searchParams.sort();
  // An empty query ("?" alone) reads as "" but is kept in href unless cleared.
  if (url.search === '') url.search = '';
  return url.href;
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
