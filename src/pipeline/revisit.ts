/**
 * Whether a fetched page changed since the crawl last saw it: a 304 to the conditional request,
 * or a body with the same SHA-256 as before (for servers that send no validators, or ignore them).
 */
import { createHash } from 'node:crypto';
import type { CrawlRequest, FetchedResponse, PageValidators } from '../types.js';

function validatorsOf(response: FetchedResponse): PageValidators {
  const etag = response.headers.etag;
  const lastModified = response.headers['last-modified'];
  return {
    ...(etag ? { etag } : {}),
    ...(lastModified ? { lastModified } : {}),
    sha256: createHash('sha256').update(response.body).digest('base64url'),
  };
}

/**
 * The validators to record for this answer, and whether it says "unchanged". A 304 keeps the
 * stored validators (updated by any the server sent with it); an error answer records nothing.
 */
export function compareVisit(
  request: CrawlRequest,
  response: FetchedResponse,
): { validators: PageValidators | undefined; unchanged: boolean } {
  const before = request.revisit;
  if (response.status === 304 && before) {
    const fresh = response.headers.etag ? { etag: response.headers.etag } : {};
    return { validators: { ...before, ...fresh }, unchanged: true };
  }
  if (response.status < 200 || response.status >= 300) return { validators: undefined, unchanged: false };
  const validators = validatorsOf(response);
  return { validators, unchanged: before?.sha256 !== undefined && before.sha256 === validators.sha256 };
}
