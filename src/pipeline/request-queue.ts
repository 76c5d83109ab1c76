import type { CrawlRequest } from '../types.js';
import { fingerprint } from './fingerprint.js';
import type { HostGate, NextPick } from './frontier-store.js';
import { Heap } from './heap.js';
import { rankedBefore } from './ordering.js';

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
 * Requests waiting to be fetched, in one priority queue per origin so the scheduler can always
 * take work from a host that has capacity. Retries waiting out a backoff sit in a separate
 * time-ordered heap, so they never block the other requests of their host. No deduplication:
 * what is pushed is queued.
 */
export class RequestQueue {
  private readonly queues = new Map<string, Heap<Entry>>();
  private readonly delayed = new Heap<CrawlRequest>((a, b) => (a.notBefore ?? 0) < (b.notBefore ?? 0));
  /** Origins with queued requests, visited round-robin for fairness. */
  private origins: string[] = [];
  private cursor = 0;
  private count = 0;
  private sequence = 0;

  /** Requests queued, including retries waiting out their backoff. */
  get pending(): number {
    return this.count + this.delayed.size;
  }

  /** Queues a request; one with a backoff deadline ahead waits it out first. */
  push(request: CrawlRequest): void {
    if (request.notBefore && request.notBefore > Date.now()) this.delayed.push(request);
    else this.enqueue(request);
  }

  /**
   * The next request from an origin that may start now, visiting origins round-robin. When none
   * may start, how long until one might; undefined when nothing is queued.
   */
  take(gate: HostGate, now = Date.now()): NextPick {
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
      if (wait === 0) return { request: materialize(this.popFrom(origin, index, n)) };
      soonest = Math.min(soonest, wait);
    }
    return { waitMs: soonest };
  }

  /** Everything still queued, for persisting. */
  *drain(): Iterable<CrawlRequest> {
    for (const heap of this.queues.values()) for (const entry of heap.items()) yield materialize(entry);
    yield* this.delayed.items();
  }

  private popFrom(origin: string, index: number, n: number): Entry {
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
    return entry;
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

function entryBefore(a: Entry, b: Entry): boolean {
  return rankedBefore(a.full?.slow === true, a.priority, a.seq, b.full?.slow === true, b.priority, b.seq);
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
    r.render === undefined &&
    r.notBefore === undefined &&
    r.parseAttempts === undefined &&
    r.slow === undefined &&
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
