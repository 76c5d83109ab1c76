import type { HostLimits, ResolvedHostLimit } from '../fetcher/host-limits.js';
import type { SharedFrontier } from './shared-frontier.js';

/** A request's turn at its host beyond what `HostLimits` admits in this process. */
export type Turn =
  | { taken: true; release: () => void }
  | {
      taken: false;
      /** The request goes back to the frontier until then (epoch ms); undefined: no wait. */
      notBefore: number | undefined;
      /** Run once the request has given its admission back, before it is requeued. */
      prepare: (() => Promise<void>) | undefined;
    };

export interface HostTurns {
  /** The turn, at once when it is decided here, or once it has been asked for elsewhere. */
  take(origin: string): Turn | Promise<Turn>;
}

const ALWAYS: Turn = { taken: true, release: () => undefined };

/** In a crawl of one process `HostLimits` is the whole rule: every turn is taken. */
export const localTurns: HostTurns = { take: () => ALWAYS };

/** What an origin needs before its first shared turn. */
export interface OriginSetup {
  ready(origin: string): boolean;
  prepare(origin: string): Promise<void>;
}

/**
 * The shared gap starts when Redis grants a turn, but the request reaches the wire a little later,
 * and later by a different amount in each process; across processes the delay is widened by this
 * share (capped), so the server does not see two processes' requests closer than the setting (it
 * saw 80-87 ms against a 100 ms Crawl-delay without it).
 */
const CROSS_PROCESS_MARGIN = 0.25;
const MAX_CROSS_PROCESS_MARGIN_MS = 50;

function acrossProcesses(limit: ResolvedHostLimit): ResolvedHostLimit {
  const margin = Math.min(limit.delayMs * CROSS_PROCESS_MARGIN, MAX_CROSS_PROCESS_MARGIN_MS);
  return margin > 0 ? { ...limit, delayMs: limit.delayMs + margin } : limit;
}

/** A request refused because its host is at its concurrency in some process asks again after this. */
const BUSY_RETRY_MS = 20;
/** After Redis failed to answer (the crawl is ending with that error). */
const FAILED_RETRY_MS = 200;

/**
 * The per-host limits across every process of a distributed crawl, taken in Redis right before
 * the request goes out. robots.txt is fetched first, on its own (`setup`), so it never goes out
 * inside another request's shared turn.
 */
export class SharedTurns implements HostTurns {
  constructor(
    private readonly shared: SharedFrontier,
    private readonly limits: HostLimits,
    private readonly setup: OriginSetup,
    private readonly failed: (error: unknown) => void,
  ) {}

  async take(origin: string): Promise<Turn> {
    if (!this.setup.ready(origin))
      return { taken: false, notBefore: undefined, prepare: () => this.setup.prepare(origin) };
    let waitMs: number;
    try {
      const turn = await this.shared.gate(origin, acrossProcesses(this.limits.limitFor(origin)));
      const release = turn.release;
      if (release) return { taken: true, release: () => void release() };
      waitMs = Number.isFinite(turn.waitMs) ? turn.waitMs : BUSY_RETRY_MS;
    } catch (error) {
      this.failed(error);
      waitMs = FAILED_RETRY_MS;
    }
    return { taken: false, notBefore: Date.now() + waitMs, prepare: undefined };
  }
}
