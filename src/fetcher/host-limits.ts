import { AbortedError } from '../errors.js';
import { type AdaptiveThrottleOptions, DEFAULTS, type HostLimit, type HostRule } from '../options.js';
import { type Outcome, ThrottleState } from './throttle.js';

export interface ResolvedHostLimit {
  concurrency: number;
  delayMs: number;
  jitterMs: number;
}

/** One origin's state right now, as a dashboard shows it. */
export interface HostSnapshot {
  origin: string;
  /** Requests in flight. */
  active: number;
  /** The limits in force (after the adaptive throttle and Crawl-delay) and the configured ones. */
  concurrency: number;
  delayMs: number;
  configuredConcurrency: number;
  configuredDelayMs: number;
  /** Held below its configured limits by the adaptive throttle. */
  throttled: boolean;
  crawlDelayMs: number;
  /** Ms until the next start may go out (a gap, a Retry-After pause). */
  waitMs: number;
}

export interface HostLimitsOptions {
  /** Per-host overrides, first match wins. */
  rules?: HostRule[];
  /** Adaptive throttling; `false` keeps the configured limits fixed. @default true */
  adaptive?: boolean | AdaptiveThrottleOptions;
  /** Most Retry-After or Crawl-delay honoured, in ms. @default DEFAULTS.backoff.maxRetryAfterMs */
  maxPauseMs?: number;
  /** Hosts remembered; idle ones are forgotten beyond this. @default 10_000 */
  maxHosts?: number;
  /** Source of randomness in [0, 1) for jitter. @default Math.random */
  random?: () => number;
  /** Monotonic clock in ms. @default performance.now */
  now?: () => number;
  /**
   * An origin's adaptive throttle changed, or a Retry-After paused it for `pauseMs`: the limits
   * now in force, for the other processes of a distributed crawl to follow.
   */
  onThrottle?: (origin: string, limit: ResolvedHostLimit, pauseMs: number) => void;
}

interface HostState {
  configured: ResolvedHostLimit;
  throttle: ThrottleState | undefined;
  /** Crawl-delay from robots.txt, a floor under the gap. */
  crawlDelayMs: number;
  active: number;
  /** Starts admitted but not yet on the wire; while any is, no other start is admitted (gap > 0). */
  pending: number;
  /** Earliest time the next request to this origin may start. */
  nextStartAt: number;
}

/** How often admission is re-asked while a start is on its way to the wire. */
const PENDING_POLL_MS = 5;

/**
 * Per-origin admission: at most `concurrency` requests in flight and at least `delayMs` (+ jitter)
 * between two starts. Admission is a synchronous question the scheduler asks before it takes a
 * global slot, so a request never holds a global slot while it waits for its host.
 *
 * Exact as the server sees it: the gap is measured from the moment a request is written to the
 * socket (`sent`), not from when it was admitted, so a slow connect or TLS handshake of one request
 * cannot bring the next one closer than the gap; and while an admitted start is still on its way
 * to the wire, the next one waits. Times come from a monotonic clock and a wait is re-checked when
 * its timer fires (Node timers run off the loop's cached time and can fire early by a precise clock).
 */
export class HostLimits {
  private readonly hosts = new Map<string, HostState>();
  private readonly rules: HostRule[];
  private readonly adaptive: AdaptiveThrottleOptions | undefined;
  private readonly random: () => number;
  private readonly clock: () => number;
  private readonly maxPauseMs: number;
  private readonly maxHosts: number;
  private readonly onThrottle: HostLimitsOptions['onThrottle'];
  private lastOrigin: string | undefined;
  private lastState: HostState | undefined;

  constructor(
    private readonly defaults: ResolvedHostLimit,
    options: HostLimitsOptions | HostRule[] = {},
  ) {
    const o = Array.isArray(options) ? { rules: options } : options;
    this.rules = o.rules ?? [];
    this.adaptive = o.adaptive === false ? undefined : o.adaptive === true ? {} : (o.adaptive ?? {});
    this.random = o.random ?? Math.random;
    this.clock = o.now ?? (() => performance.now());
    this.maxPauseMs = o.maxPauseMs ?? DEFAULTS.backoff.maxRetryAfterMs;
    this.maxHosts = o.maxHosts ?? 10_000;
    this.onThrottle = o.onThrottle;
  }

  /**
   * 0 when a request to `origin` may start now, else the ms to wait (Infinity = until one ends).
   * The caller's wall-clock `now` is not used: gaps are kept on the monotonic clock.
   */
  waitMs(origin: string, _now?: number): number {
    const state = this.state(origin);
    if (state.active >= this.concurrencyOf(state)) return Number.POSITIVE_INFINITY;
    return this.startWait(state);
  }

  /** Admits a request: takes a concurrency slot and a pending start. Call only after `waitMs` returned 0. */
  acquire(origin: string, _now?: number): void {
    const state = this.state(origin);
    state.active++;
    state.pending++;
    this.markStart(state);
  }

  release(origin: string, _now?: number): void {
    const state = this.hosts.get(origin);
    if (!state) return;
    state.active = Math.max(0, state.active - 1);
    // Nothing in flight means nothing can be on its way to the wire.
    if (state.active === 0) state.pending = 0;
    if (this.hosts.size > this.maxHosts) this.forgetIdle();
  }

  /** The pending start went out on the wire now: the gap runs from here. */
  sent(origin: string): void {
    const state = this.state(origin);
    state.pending = Math.max(0, state.pending - 1);
    this.markStart(state);
  }

  /** The pending start will not reach the wire (cache hit, refused, connect failed). */
  unsent(origin: string): void {
    const state = this.state(origin);
    state.pending = Math.max(0, state.pending - 1);
  }

  /**
   * Waits for the origin's gap and takes a pending start, for another request made inside an
   * admitted one (robots.txt, a same-origin redirect hop). Holds no extra concurrency. Follow with
   * `sent` or `unsent`.
   */
  async turn(origin: string, signal?: AbortSignal): Promise<void> {
    const state = this.state(origin);
    await this.until(
      () => this.startWait(state),
      () => {
        state.pending++;
        this.markStart(state);
      },
      signal,
    );
  }

  /** Waits for a concurrency slot and the gap (a redirect hop to another origin); returns the release. */
  async enter(origin: string, signal?: AbortSignal): Promise<() => void> {
    await this.until(
      () => this.waitMs(origin),
      () => this.acquire(origin),
      signal,
    );
    return () => this.release(origin);
  }

  private startWait(state: HostState): number {
    const wait = state.nextStartAt - this.clock();
    const gapWait = wait > 0 ? Math.ceil(wait) : 0;
    if (state.pending > 0 && this.gapOf(state) + state.configured.jitterMs > 0)
      return Math.max(gapWait, PENDING_POLL_MS);
    return gapWait;
  }

  /**
   * Feeds one answer to the adaptive throttle: 429/503, a share of timeouts and rising latency
   * slow the host down, healthy answers bring it back (see ThrottleState; `repeat` marks the
   * answer to a retry). A Retry-After pauses the whole origin (capped).
   */
  observe(origin: string, outcome: Outcome, latencyMs: number, retryAfterMs?: number, repeat = false): void {
    const state = this.state(origin);
    const now = this.clock();
    const pauseMs =
      retryAfterMs !== undefined && retryAfterMs > 0 ? Math.min(retryAfterMs, this.maxPauseMs) : 0;
    if (pauseMs > 0) state.nextStartAt = Math.max(state.nextStartAt, now + pauseMs);
    // A 503 that says when to come back is maintenance, not load: the pause is the whole answer.
    const changed =
      pauseMs > 0 && outcome === 503 ? undefined : state.throttle?.observe(outcome, latencyMs, now, repeat);
    if (changed || pauseMs > 0) this.onThrottle?.(origin, this.limitFor(origin), pauseMs);
  }

  /** robots.txt Crawl-delay: widens this origin's gap to at least `ms` (capped). */
  setCrawlDelay(origin: string, ms: number): void {
    this.state(origin).crawlDelayMs = Math.min(Math.max(0, ms), this.maxPauseMs);
  }

  /** The limits in force for an origin right now, after throttling and Crawl-delay. */
  limitFor(origin: string): ResolvedHostLimit {
    const state = this.state(origin);
    return {
      concurrency: this.concurrencyOf(state),
      delayMs: this.gapOf(state),
      jitterMs: state.configured.jitterMs,
    };
  }

  /** Every origin remembered, busiest first (idle ones are forgotten as the table grows). */
  snapshot(): HostSnapshot[] {
    const now = this.clock();
    const hosts: HostSnapshot[] = [];
    for (const [origin, state] of this.hosts)
      hosts.push({
        origin,
        active: state.active,
        concurrency: this.concurrencyOf(state),
        delayMs: this.gapOf(state),
        configuredConcurrency: state.configured.concurrency,
        configuredDelayMs: state.configured.delayMs,
        throttled: state.throttle?.throttled ?? false,
        crawlDelayMs: state.crawlDelayMs,
        waitMs: Math.max(0, Math.ceil(state.nextStartAt - now)),
      });
    return hosts.sort((a, b) => b.active - a.active || a.origin.localeCompare(b.origin));
  }

  /** The limits configured for an origin (defaults merged with the first matching rule). */
  configuredFor(origin: string): ResolvedHostLimit {
    return { ...this.state(origin).configured };
  }

  private concurrencyOf(state: HostState): number {
    return state.throttle?.concurrency ?? state.configured.concurrency;
  }

  private gapOf(state: HostState): number {
    return Math.max(state.throttle?.gapMs ?? state.configured.delayMs, state.crawlDelayMs);
  }

  private markStart(state: HostState): void {
    const gap = startGapMs(this.gapOf(state), state.configured.jitterMs, this.random);
    state.nextStartAt = this.clock() + gap;
  }

  /** Waits until `waitMs` says 0, then runs `take` in the same tick so no one else gets in between. */
  private async until(waitMs: () => number, take: () => void, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw new AbortedError();
      const wait = waitMs();
      if (wait <= 0) return take();
      // Infinity means "until a request ends"; poll, since nothing here is told when that is.
      await sleep(Number.isFinite(wait) ? Math.ceil(wait) : 25, signal);
    }
  }

  private state(origin: string): HostState {
    // Several calls per request ask for the same origin in a row.
    if (origin === this.lastOrigin && this.lastState) return this.lastState;
    let state = this.hosts.get(origin);
    if (!state) {
      const configured = this.resolve(origin);
      state = {
        configured,
        throttle: this.adaptive
          ? new ThrottleState(configured.concurrency, configured.delayMs, this.adaptive)
          : undefined,
        crawlDelayMs: 0,
        active: 0,
        pending: 0,
        nextStartAt: Number.NEGATIVE_INFINITY,
      };
      this.hosts.set(origin, state);
    }
    this.lastOrigin = origin;
    this.lastState = state;
    return state;
  }

  private resolve(origin: string): ResolvedHostLimit {
    const host = new URL(origin).hostname;
    for (const rule of this.rules) {
      if (matchesHost(rule.match, origin, host)) return { ...this.defaults, ...definedOnly(rule) };
    }
    return { ...this.defaults };
  }

  /** Hosts with nothing in flight, whose gap has passed and that are not throttled, carry nothing worth keeping. */
  private forgetIdle(): void {
    const now = this.clock();
    for (const [origin, state] of this.hosts) {
      if (
        state.active === 0 &&
        state.nextStartAt <= now &&
        !state.throttle?.throttled &&
        !state.crawlDelayMs
      ) {
        this.hosts.delete(origin);
        if (origin === this.lastOrigin) this.lastState = undefined;
      }
      if (this.hosts.size <= this.maxHosts / 2) break;
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(new AbortedError());
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function definedOnly(rule: HostRule): Partial<HostLimit> {
  const out: Partial<HostLimit> = {};
  if (rule.concurrency !== undefined) out.concurrency = rule.concurrency;
  if (rule.delayMs !== undefined) out.delayMs = rule.delayMs;
  if (rule.jitterMs !== undefined) out.jitterMs = rule.jitterMs;
  return out;
}

function matchesHost(match: string | RegExp, origin: string, host: string): boolean {
  if (match instanceof RegExp) return match.test(origin);
  const m = match.toLowerCase();
  if (m.includes('://')) return m.replace(/\/$/, '') === origin;
  if (m.startsWith('*.')) return host === m.slice(2) || host.endsWith(m.slice(1));
  return host === m;
}

/**
 * The rule every per-host limiter applies, in this process (`HostLimits`) and across the processes
 * of a distributed crawl (the Redis gate): the next start to an origin waits `delayMs`, plus up to
 * `jitterMs` at random, plus the delivery margin, after the previous one.
 */
export function startGapMs(delayMs: number, jitterMs: number, random: () => number): number {
  const jitter = jitterMs > 0 ? random() * jitterMs : 0;
  return delayMs + jitter + deliveryMarginMs(delayMs);
}

/**
 * Requests written exactly `gap` apart can still reach the server's handler closer together, when
 * the earlier one is delayed more on its way in (a busy server loop, the kernel). A small margin,
 * 10% of the gap and at most 5 ms, keeps the gap the server observes at or above the configured one.
 */
function deliveryMarginMs(gapMs: number): number {
  return gapMs > 0 ? Math.min(5, gapMs * 0.1) : 0;
}
