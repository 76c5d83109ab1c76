import type { CrawlRequest } from '../types.js';

/**
 * A queued request as every store keeps it outside this process (a job directory line, a Redis
 * hash value): JSON without its backoff deadline, attempts starting afresh, since both belong to
 * the attempt that was under way and mean nothing to the process that takes it next.
 */
export function encodeRequest(request: CrawlRequest): string {
  const { notBefore: _notBefore, ...record } = request;
  record.attempts = 0;
  return JSON.stringify(record);
}

/** The request `encodeRequest` wrote, or undefined for text that is not one (a line cut short). */
export function decodeRequest(text: string): CrawlRequest | undefined {
  let request: CrawlRequest;
  try {
    request = JSON.parse(text) as CrawlRequest;
  } catch {
    return undefined;
  }
  if (typeof request?.url !== 'string' || typeof request.fingerprint !== 'string') return undefined;
  return request;
}
