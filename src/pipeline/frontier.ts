import { InvalidUrlError } from '../errors.js';
import type { CrawlRequest, HttpMethod, RequestInit } from '../types.js';
import { canonicalUrl, fingerprint } from './fingerprint.js';

/** Answers whether an origin may start a request now (0) or in how many ms (Infinity = when one ends). */
export interface HostGate {
  waitMs(origin: string, now: number): number;
}

export type Rejection = 'duplicate' | 'depth' | 'offsite' | 'invalid';

export interface FrontierPolicy {
  maxDepth: number;
  /** Lower-cased hostnames followed links may go to; undefined = any. */
  allowedHosts: Set<string> | undefined;
}

export type NextPick = { request: CrawlRequest } | { waitMs: number } | undefined;

/**
 * Requests waiting to be fetched: deduped by fingerprint, kept in one priority queue per origin so
 * the scheduler can always take work from a host that has capacity.
 */
export class Frontier {
  private readonly seen = new Set<string>();
  private readonly queues = new Map<string, RequestHeap>();
  /** Origins with queued requests, visited round-robin for fairness. */
  private origins: string[] = [];
  private cursor = 0;
  private count = 0;
  private sequence = 0;

  constructor(private readonly policy: FrontierPolicy) {}

  get pending(): number {
    return this.count;
  }

  get seenCount(): number {
    return this.seen.size;
  }

  /**
   * Turns a request found on `parent` (or a start request) into a queued `CrawlRequest`, or says
   * why not. Start requests bypass the host filter: they define it.
   */
  add(init: RequestInit, parent?: CrawlRequest): CrawlRequest | Rejection {
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
    const method = (init.method ?? 'GET').toUpperCase() as HttpMethod;
    const fp = fingerprint(url, method, init.body);
    if (!init.dontFilter) {
      if (this.seen.has(fp)) return 'duplicate';
      this.seen.add(fp);
    }
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
      ...(parent ? { referrer: parent.url } : {}),
    };
    this.enqueue(request);
    return request;
  }

  /** Puts a request back (a retry); it is not deduped again. */
  requeue(request: CrawlRequest): void {
    this.enqueue(request);
  }

  /** Marks a fingerprint as seen without queueing, e.g. when restoring a job. */
  markSeen(fp: string): void {
    this.seen.add(fp);
  }

  /**
   * The next request from an origin that may start now, visiting origins round-robin. When none
   * may start, how long until one might; undefined when nothing is queued.
   */
  next(gate: HostGate, now = Date.now()): NextPick {
    if (this.count === 0) return undefined;
    let soonest = Number.POSITIVE_INFINITY;
    const n = this.origins.length;
    for (let i = 0; i < n; i++) {
      const index = (this.cursor + i) % n;
      const origin = this.origins[index]!;
      const heap = this.queues.get(origin)!;
      const head = heap.peek()!;
      const hostWait = gate.waitMs(origin, now);
      const backoffWait = head.notBefore ? Math.max(0, head.notBefore - now) : 0;
      const wait = Math.max(hostWait, backoffWait);
      if (wait === 0) {
        heap.pop();
        this.count--;
        if (heap.size === 0) {
          this.queues.delete(origin);
          this.origins.splice(index, 1);
          this.cursor = this.origins.length ? index % this.origins.length : 0;
        } else {
          this.cursor = (index + 1) % n;
        }
        return { request: head };
      }
      soonest = Math.min(soonest, wait);
    }
    return { waitMs: soonest };
  }

  /** Everything still queued, for persisting on shutdown. */
  *drain(): Iterable<CrawlRequest> {
    for (const heap of this.queues.values()) yield* heap.items();
  }

  private enqueue(request: CrawlRequest): void {
    const origin = new URL(request.url).origin;
    let heap = this.queues.get(origin);
    if (!heap) {
      heap = new RequestHeap();
      this.queues.set(origin, heap);
      this.origins.push(origin);
    }
    heap.push(request, this.sequence++);
    this.count++;
  }
}

/** Max-heap on priority, FIFO among equals. */
class RequestHeap {
  private readonly heap: Array<{ request: CrawlRequest; seq: number }> = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): CrawlRequest | undefined {
    return this.heap[0]?.request;
  }

  *items(): Iterable<CrawlRequest> {
    for (const entry of this.heap) yield entry.request;
  }

  push(request: CrawlRequest, seq: number): void {
    const heap = this.heap;
    heap.push({ request, seq });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  pop(): CrawlRequest | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
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
    return top?.request;
  }

  private before(
    a: { request: CrawlRequest; seq: number },
    b: { request: CrawlRequest; seq: number },
  ): boolean {
    if (a.request.priority !== b.request.priority) return a.request.priority > b.request.priority;
    return a.seq < b.seq;
  }
}
