import { InvalidUrlError } from '../errors.js';
import { prepareRequest } from '../request-init.js';
import type { CrawlRequest, HttpMethod, RequestInit } from '../types.js';
import { canonicalUrl, fingerprint } from './fingerprint.js';
import { SeenSet } from './seen-set.js';

/** Answers whether an origin may start a request now (0) or in how many ms (Infinity = when one ends). */
export interface HostGate {
  waitMs(origin: string, now: number): number;
}

export type Rejection = 'duplicate' | 'depth' | 'offsite' | 'invalid' | 'trap';

export interface FrontierPolicy {
  maxDepth: number;
  /** Lower-cased hostnames followed links may go to; undefined = any. */
  allowedHosts: Set<string> | undefined;
}

export type NextPick = { request: CrawlRequest } | { waitMs: number } | undefined;

/**
 * A queued request. Most requests are a plain GET with default options, so only what varies is
 * kept (about 80 bytes plus the URL); anything unusual keeps its whole `CrawlRequest` in `full`.
 */
interface Entry {
  seq: number;
  priority: number;
  depth: number;
  url: string;
  callback: string;
  referrer: string | undefined;
  full: CrawlRequest | undefined;
}

/**
 * Requests waiting to be fetched: deduped by fingerprint, kept in one priority queue per origin so
 * the scheduler can always take work from a host that has capacity. Retries waiting out a backoff
 * sit in a separate time-ordered heap, so they never block the other requests of their host.
 */
export class Frontier {
  private readonly seen = new SeenSet();
  private readonly queues = new Map<string, Heap<Entry>>();
  private readonly delayed = new Heap<CrawlRequest>((a, b) => (a.notBefore ?? 0) < (b.notBefore ?? 0));
  /** Origins with queued requests, visited round-robin for fairness. */
  private origins: string[] = [];
  private cursor = 0;
  private count = 0;
  private sequence = 0;

  constructor(private readonly policy: FrontierPolicy) {}

  /** Requests queued, including retries waiting out their backoff. */
  get pending(): number {
    return this.count + this.delayed.size;
  }

  get seenCount(): number {
    return this.seen.size;
  }

  /**
   * Turns a request found on `parent` (or a start request) into a queued `CrawlRequest`, or says
   * why not. Start requests bypass the host filter: they define it.
   */
  add(init: RequestInit, parent?: CrawlRequest): CrawlRequest | Rejection {
    const request = this.admit(init, parent);
    if (typeof request !== 'string') this.enqueue(request);
    return request;
  }

  /**
   * `add` without queueing: the checks, the seen set and the `CrawlRequest`, for a caller that
   * queues it elsewhere (the Redis frontier of a distributed crawl).
   */
  admit(given: RequestInit, parent?: CrawlRequest): CrawlRequest | Rejection {
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
    if (depth > this.policy.maxDepth) return 'depth';
    if (parent && this.policy.allowedHosts && !this.policy.allowedHosts.has(new URL(url).hostname))
      return 'offsite';
    if (parent && looksLikeTrap(url)) return 'trap';
    const method = (init.method ?? 'GET').toUpperCase() as HttpMethod;
    const fp = fingerprint(url, method, init.body);
    if (!init.dontFilter && !this.seen.add(fp)) return 'duplicate';
    const request: CrawlRequest = {
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
      ...(parent ? { referrer: parent.url } : {}),
    };
    return request;
  }

  /** Puts a request back (a retry, or one restored from a job directory); it is not deduped again. */
  requeue(request: CrawlRequest): void {
    if (request.notBefore && request.notBefore > Date.now()) this.delayed.push(request);
    else this.enqueue(request);
  }

  /** Marks a fingerprint as seen without queueing, e.g. when restoring a job. */
  markSeen(fp: string): void {
    this.seen.add(fp);
  }

  /** Restores a seen key as written by `seenKeys()`. */
  markSeenKey(hex: string): void {
    this.seen.addHex(hex);
  }

  /** Every seen fingerprint as a 16-hex-digit key, for compacting a job directory. */
  seenKeys(): Iterable<string> {
    return this.seen.keys();
  }

  /**
   * The next request from an origin that may start now, visiting origins round-robin. When none
   * may start, how long until one might; undefined when nothing is queued.
   */
  next(gate: HostGate, now = Date.now()): NextPick {
    this.promoteDue(now);
    if (this.count === 0) {
      if (this.delayed.size === 0) return undefined;
      return { waitMs: Math.max(1, (this.delayed.peek()!.notBefore ?? now) - now) };
    }
    let soonest = this.delayed.size ? Math.max(1, (this.delayed.peek()!.notBefore ?? now) - now) : Infinity;
    const n = this.origins.length;
    for (let i = 0; i < n; i++) {
      const index = (this.cursor + i) % n;
      const origin = this.origins[index]!;
      const wait = gate.waitMs(origin, now);
      if (wait === 0) {
        const heap = this.queues.get(origin)!;
        const entry = heap.pop()!;
        this.count--;
        if (heap.size === 0) {
          this.queues.delete(origin);
          this.origins.splice(index, 1);
          this.cursor = this.origins.length ? index % this.origins.length : 0;
        } else {
          this.cursor = (index + 1) % n;
        }
        return { request: materialize(entry) };
      }
      soonest = Math.min(soonest, wait);
    }
    return { waitMs: soonest };
  }

  /** Everything still queued, for persisting. */
  *drain(): Iterable<CrawlRequest> {
    for (const heap of this.queues.values()) for (const entry of heap.items()) yield materialize(entry);
    yield* this.delayed.items();
  }

  private promoteDue(now: number): void {
    while (this.delayed.size && (this.delayed.peek()!.notBefore ?? 0) <= now) {
      this.enqueue(this.delayed.pop()!);
    }
  }

  private enqueue(request: CrawlRequest): void {
    const origin = originOf(request.url);
    let heap = this.queues.get(origin);
    if (!heap) {
      heap = new Heap<Entry>(entryBefore);
      this.queues.set(origin, heap);
      this.origins.push(origin);
    }
    heap.push(compact(request, this.sequence++));
    this.count++;
  }
}

function originOf(url: string): string {
  // Canonical URLs are absolute http(s): the origin ends at the first "/" after "//".
  if (url.includes('@')) return new URL(url).origin;
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  return slash < 0 ? url : url.slice(0, slash);
}

function isPlain(r: CrawlRequest): boolean {
  return (
    r.method === 'GET' &&
    r.attempts === 0 &&
    !r.dontFilter &&
    !r.acceptBinary &&
    r.headers === undefined &&
    r.body === undefined &&
    r.acceptStatus === undefined &&
    r.notBefore === undefined &&
    r.parseAttempts === undefined &&
    Object.keys(r.userData).length === 0
  );
}

function compact(request: CrawlRequest, seq: number): Entry {
  const plain = isPlain(request);
  return {
    seq,
    priority: request.priority,
    depth: request.depth,
    url: request.url,
    callback: request.callback,
    referrer: plain ? request.referrer : undefined,
    full: plain ? undefined : request,
  };
}

function materialize(entry: Entry): CrawlRequest {
  if (entry.full) return entry.full;
  return {
    url: entry.url,
    method: 'GET',
    callback: entry.callback,
    userData: {},
    priority: entry.priority,
    depth: entry.depth,
    dontFilter: false,
    acceptBinary: false,
    // Recomputed rather than stored: a hash on the way out is cheaper than 40 bytes per queued URL.
    fingerprint: fingerprint(entry.url, 'GET'),
    attempts: 0,
    ...(entry.referrer ? { referrer: entry.referrer } : {}),
  };
}

/** Retries of slow requests after everything fresh, then higher priority first, FIFO among equals. */
function entryBefore(a: Entry, b: Entry): boolean {
  const aSlow = a.full?.slow === true;
  if (aSlow !== (b.full?.slow === true)) return !aSlow;
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.seq < b.seq;
}

/** A binary heap ordered by `before`. */
class Heap<T> {
  private readonly heap: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  items(): Iterable<T> {
    return this.heap;
  }

  push(value: T): void {
    const heap = this.heap;
    heap.push(value);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < heap.length && this.before(heap[l]!, heap[best]!)) best = l;
        if (r < heap.length && this.before(heap[r]!, heap[best]!)) best = r;
        if (best === i) break;
        [heap[i], heap[best]] = [heap[best]!, heap[i]!];
        i = best;
      }
    }
    return top;
  }
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
export function looksLikeTrap(url: string): boolean {
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
