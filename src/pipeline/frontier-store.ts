import type { CrawlRequest, PageValidators, RequestInit } from '../types.js';
import type { Rejection } from './admission.js';
import type { StopReason } from './stats.js';

/** Answers whether an origin may start a request now (0) or in how many ms (Infinity = when one ends). */
export interface HostGate {
  waitMs(origin: string, now: number): number;
}

export type NextPick = { request: CrawlRequest } | { waitMs: number } | undefined;

/** What became of the requests given to `add`: how many were queued, and why the others were not. */
export interface Added {
  queued: number;
  dropped: Record<Rejection, number>;
}

/** Limits kept for all the processes of a crawl together, by a shared store. */
export interface SharedLimits {
  /** The crawl-wide limit the store last found reached (`maxPages`, `maxItems`), if any. */
  readonly reached: StopReason | undefined;
  /** How long the crawl had run when this process joined it (for `timeLimitMs`). */
  readonly elapsedMs: number;
  /** How many of `count` items found on a page may still be delivered; they are counted. */
  grantItems(count: number): Promise<number>;
}

/**
 * Where the requests of a crawl wait: in memory (`Frontier`), in memory and a job directory
 * (`JobDirStore`), or in Redis for every process of a distributed crawl (`DistributedStore`). All
 * serve requests in one order (see ordering.ts) and keep the same promise: a request taken from
 * `take` stays the crawl's until it is given to `requeue` or `done`, so none is lost.
 */
export interface FrontierStore {
  /** Where the store keeps its state, to name it when that fails ('' in memory). */
  readonly location: string;
  /** Requests waiting here to be taken, retries waiting out their backoff included. */
  readonly pending: number;
  /** How often a scheduler short of work calls `claim` again; Infinity when all work is here. */
  readonly claimEveryMs: number;
  /** Crawl-wide limits, for a store shared by several processes; absent: this process counts alone. */
  readonly limits?: SharedLimits;
  /** Opens the store and loads what an earlier run left; resolves with how many requests came back. */
  restore(): Promise<number>;
  /**
   * Queues the requests found on `parent` (or start requests) that pass the filters and were never
   * queued before in this crawl. A store that persists has them on record before any later `done`,
   * so a page reported done cannot lose the requests it found.
   */
  add(requests: readonly RequestInit[], parent?: CrawlRequest): Promise<Added>;
  /** Brings up to `wanted` requests within reach of `take`: a shared store leases them. */
  claim(wanted: number): Promise<void>;
  /**
   * The next request from an origin `gate` lets start now, visiting origins round-robin. When none
   * may start, how long until one might; undefined when nothing is queued here.
   */
  take(gate: HostGate, now?: number): NextPick;
  /** A taken request goes back unfinished (a retry, or it did not start after all); not deduped again. */
  requeue(request: CrawlRequest): void;
  /** Taken requests are finished: fetched and their items handled, or failed for good. */
  done(requests: readonly CrawlRequest[]): Promise<void>;
  /**
   * A page was fetched with these validators (a store that keeps pages for re-crawls records
   * them; the others do not have this method, and nothing is hashed for them).
   */
  visited?(request: CrawlRequest, validators: PageValidators): void;
  /** Whether the crawl has nothing left anywhere; asked once this process is out of work. */
  exhausted(): Promise<boolean>;
  /** Keeps what is not done for a later run or gives it back to the other processes; releases the store. */
  close(): Promise<void>;
}

/** Offers each request to `offer`, counting what was queued and why the rest was not. */
export function offerEach(
  requests: readonly RequestInit[],
  parent: CrawlRequest | undefined,
  offer: (init: RequestInit, parent: CrawlRequest | undefined) => CrawlRequest | Rejection,
): Added {
  const added: Added = {
    queued: 0,
    dropped: { duplicate: 0, depth: 0, offsite: 0, invalid: 0, trap: 0 },
  };
  for (const init of requests) {
    const result = offer(init, parent);
    if (typeof result === 'string') added.dropped[result]++;
    else added.queued++;
  }
  return added;
}
