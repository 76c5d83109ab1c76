import type { CrawlRequest, RequestInit } from '../types.js';
import { admit, type FrontierPolicy } from './admission.js';
import {
  type Added,
  type FrontierStore,
  type HostGate,
  type NextPick,
  offerEach,
  type SharedLimits,
} from './frontier-store.js';
import { RequestQueue } from './request-queue.js';
import type { SharedFrontier } from './shared-frontier.js';
import type { StopReason } from './stats.js';

/** How often a process short of work asks Redis for more, or whether the crawl is over. */
const CLAIM_EVERY_MS = 200;

/** Redis's seen set decides what is new, for every process at once (see SharedFrontier.add). */
const newUntilRedisSays = () => true;

/**
 * The frontier of a distributed crawl: what every process must agree on (what was seen, what is
 * queued, who holds what, how much of the crawl's limits is used) lives in Redis; this process
 * schedules the few requests it has leased from a local queue, in the same order.
 */
export class DistributedStore implements FrontierStore, SharedLimits {
  readonly claimEveryMs = CLAIM_EVERY_MS;
  readonly limits: SharedLimits = this;
  private readonly queue = new RequestQueue();
  private nextClaimAt = 0;

  constructor(
    private readonly shared: SharedFrontier,
    private readonly policy: FrontierPolicy,
    readonly location: string,
    /** How long the crawl had run when this process joined it. */
    readonly elapsedMs = 0,
    /** Why this process ended, for the report it leaves in Redis. */
    private readonly endedAs: () => StopReason = () => 'finished',
  ) {}

  get pending(): number {
    return this.queue.pending;
  }

  get reached(): StopReason | undefined {
    return this.shared.reached;
  }

  /** Nothing to load: the crawl's state is in Redis, leased as it is needed. */
  async restore(): Promise<number> {
    return 0;
  }

  async add(requests: readonly RequestInit[], parent?: CrawlRequest): Promise<Added> {
    const admitted: CrawlRequest[] = [];
    const added = offerEach(requests, parent, (init, from) => {
      const request = admit(init, from, this.policy, newUntilRedisSays);
      if (typeof request !== 'string') admitted.push(request);
      return request;
    });
    if (admitted.length === 0) return added;
    added.queued = await this.shared.add(admitted);
    added.dropped.duplicate += admitted.length - added.queued;
    // There is work in the queue now: the next claim need not wait out an empty one.
    if (added.queued > 0) this.nextClaimAt = 0;
    return added;
  }

  async claim(wanted: number): Promise<void> {
    // Only what can start soon: requests held here are requests the other processes cannot take.
    const room = wanted - this.queue.pending;
    if (room <= 0 || performance.now() < this.nextClaimAt) return;
    const claimed = await this.shared.claim(room);
    for (const request of claimed) this.queue.push(request);
    // An empty queue is asked again after a pause, not on every wakeup.
    this.nextClaimAt = claimed.length === 0 ? performance.now() + CLAIM_EVERY_MS / 2 : 0;
  }

  grantItems(count: number): Promise<number> {
    return this.shared.grantItems(count);
  }

  take(gate: HostGate, now = Date.now()): NextPick {
    return this.queue.take(gate, now);
  }

  /** Back in the local queue: the lease stays this process's until the request is done. */
  requeue(request: CrawlRequest): void {
    this.queue.push(request);
  }

  done(requests: readonly CrawlRequest[]): Promise<void> {
    return this.shared.done(requests);
  }

  exhausted(): Promise<boolean> {
    return this.shared.idle();
  }

  /** Requests taken but not done go back to the shared queue for the other processes. */
  close(): Promise<void> {
    return this.shared.close(this.endedAs());
  }
}
