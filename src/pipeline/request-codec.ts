import type { CrawlRequest } from '../types.js';

/**
 * Fields a request mostly has at these values; they are left out of the stored form and filled
 * in again when it is read. A queued URL in Redis is about a third smaller so (bench/README.md,
 * redis-memory), and lines written before, with every field, read the same.
 */
const USUAL: Partial<CrawlRequest> = {
  method: 'GET',
  callback: 'parse',
  priority: 0,
  dontFilter: false,
  acceptBinary: false,
};

/**
 * A queued request as every store keeps it outside this process (a job directory line, a Redis
 * hash value): JSON without its backoff deadline, attempts starting afresh, since both belong to
 * the attempt that was under way and mean nothing to the process that takes it next.
 */
export function encodeRequest(request: CrawlRequest): string {
  const { notBefore: _notBefore, attempts: _attempts, ...record } = request;
  const compact: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === USUAL[key as keyof CrawlRequest]) continue;
    if (key === 'userData' && Object.keys(value as object).length === 0) continue;
    compact[key] = value;
  }
  return JSON.stringify(compact);
}

/** The request `encodeRequest` wrote, or undefined for text that is not one (a line cut short). */
export function decodeRequest(text: string): CrawlRequest | undefined {
  let stored: Partial<CrawlRequest>;
  try {
    stored = JSON.parse(text) as Partial<CrawlRequest>;
  } catch {
    return undefined;
  }
  if (typeof stored?.url !== 'string' || typeof stored.fingerprint !== 'string') return undefined;
  return { ...USUAL, userData: {}, depth: 0, ...stored, attempts: 0 } as CrawlRequest;
}
