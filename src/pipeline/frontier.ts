import type { CrawlRequest, RequestInit } from '../types.js';
import { admit, type FrontierPolicy, type Rejection } from './admission.js';
import { type Added, type FrontierStore, type HostGate, type NextPick, offerEach } from './frontier-store.js';
import { RequestQueue } from './request-queue.js';
import { SeenSet } from './seen-set.js';

export type { FrontierPolicy, Rejection } from './admission.js';
export type { HostGate, NextPick } from './frontier-store.js';

/**
 * The in-memory frontier: requests deduped by fingerprint in a compact seen set and queued per
 * origin. The store of a crawl without a job directory or Redis, and the part of the other stores
 * that schedules.
 */
export class Frontier implements FrontierStore {
  readonly location = '';
  readonly claimEveryMs = Number.POSITIVE_INFINITY;
  private readonly seen = new SeenSet();
  private readonly queue = new RequestQueue();
  private readonly isNew = (fp: string): boolean => this.seen.add(fp);

  constructor(private readonly policy: FrontierPolicy) {}

  /** Requests queued, including retries waiting out their backoff. */
  get pending(): number {
    return this.queue.pending;
  }

  get seenCount(): number {
    return this.seen.size;
  }

  async restore(): Promise<number> {
    return 0;
  }

  async add(requests: readonly RequestInit[], parent?: CrawlRequest): Promise<Added> {
    return offerEach(requests, parent, (init, from) => this.offer(init, from));
  }

  /** Queues one request unless a filter or the seen set rejects it; says which did. */
  offer(init: RequestInit, parent?: CrawlRequest): CrawlRequest | Rejection {
    const request = admit(init, parent, this.policy, this.isNew);
    if (typeof request !== 'string') this.queue.push(request);
    return request;
  }

  async claim(): Promise<void> {}

  take(gate: HostGate, now = Date.now()): NextPick {
    return this.queue.take(gate, now);
  }

  requeue(request: CrawlRequest): void {
    this.queue.push(request);
  }

  async done(): Promise<void> {}

  async exhausted(): Promise<boolean> {
    return this.queue.pending === 0;
  }

  async close(): Promise<void> {}

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

  /** Everything still queued, for persisting. */
  drain(): Iterable<CrawlRequest> {
    return this.queue.drain();
  }
}
