import type { CrawlRequest } from '../types.js';

/**
 * The request's headers with the conditional ones of a revisit (RFC 9110 13.1): If-None-Match
 * from the stored ETag, If-Modified-Since from the stored Last-Modified. Headers the request sets
 * itself win.
 */
export function requestHeaders(request: CrawlRequest): Record<string, string> | undefined {
  const revisit = request.revisit;
  if (!revisit || (!revisit.etag && !revisit.lastModified)) return request.headers;
  return {
    ...(revisit.etag ? { 'if-none-match': revisit.etag } : {}),
    ...(revisit.lastModified ? { 'if-modified-since': revisit.lastModified } : {}),
    ...request.headers,
  };
}
