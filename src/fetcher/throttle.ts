/**
 * Adaptive throttling for one origin: 429/503, a host-wide share of timeouts and connection
 * failures, and latency well above the host's own baseline cut its concurrency and widen its gap;
 * a run of healthy answers steps both back toward the configured limits, which are never exceeded.
 * Pure state, driven by `observe`.
 *
 * A timeout is news about the host only when it is not one URL's habit: a retry of a URL that
 * failed before is not counted, and the host slows down only when failures are at least half of
 * its recent first attempts (and at least FAILURES_TO_SLOW of them). A site with a few URLs that
 * never answer keeps its full concurrency for the rest; one that stops answering slows at once.
 */

import type { AdaptiveThrottleOptions } from '../options.js';

/** A response as the throttle sees it: an HTTP status, or a timeout/connection failure. */
export type Outcome = number | 'timeout' | 'error';

const THROTTLE_DEFAULTS: Required<AdaptiveThrottleOptions> = {
  minBackoffGapMs: 250,
  maxGapMs: 15_000,
  latencyFactor: 4,
  latencyFloorMs: 250,
  recoverAfter: 8,
};

/** Recent first-attempt outcomes kept per host for the failure share. */
const WINDOW = 10;
const FAILURES_TO_SLOW = 3;

export class ThrottleState {
  concurrency: number;
  gapMs: number;
  private smoothedMs: number | undefined;
  private bestMs = Number.POSITIVE_INFINITY;
  private healthy = 0;
  private calmUntil = 0;
  /** Ring of recent outcomes, true = a timeout or connection failure. */
  private readonly recent: boolean[] = [];
  private recentAt = 0;
  private readonly options: Required<AdaptiveThrottleOptions>;

  constructor(
    private readonly maxConcurrency: number,
    private readonly baseGapMs: number,
    options: AdaptiveThrottleOptions = {},
  ) {
    this.options = { ...THROTTLE_DEFAULTS, ...options };
    this.concurrency = maxConcurrency;
    this.gapMs = baseGapMs;
  }

  /**
   * Feeds one answer in; returns what changed, if anything. `repeat`: the answer is to a retry of
   * a request that failed before, whose timeout or failure says nothing new about the host.
   */
  observe(outcome: Outcome, latencyMs: number, now: number, repeat = false): 'slower' | 'faster' | undefined {
    if (outcome === 429 || outcome === 503) return this.slowDown(now, 2);
    const failed = outcome === 'timeout' || outcome === 'error';
    if (failed && repeat) return undefined;
    this.recent[this.recentAt] = failed;
    this.recentAt = (this.recentAt + 1) % WINDOW;
    if (failed) {
      const failures = this.recent.filter(Boolean).length;
      if (failures >= FAILURES_TO_SLOW && failures * 2 >= this.recent.length) return this.slowDown(now, 2);
      this.healthy = 0;
      return undefined;
    }
    this.smoothedMs = this.smoothedMs === undefined ? latencyMs : this.smoothedMs * 0.7 + latencyMs * 0.3;
    this.bestMs = Math.min(this.bestMs, this.smoothedMs);
    const o = this.options;
    if (this.smoothedMs > this.bestMs * o.latencyFactor && this.smoothedMs - this.bestMs > o.latencyFloorMs)
      return this.slowDown(now, 1.5);
    if (++this.healthy < o.recoverAfter) return undefined;
    this.healthy = 0;
    return this.speedUp();
  }

  get throttled(): boolean {
    return this.concurrency < this.maxConcurrency || this.gapMs > this.baseGapMs;
  }

  private slowDown(now: number, factor: number): 'slower' | undefined {
    this.healthy = 0;
    // One cut per round trip: the answers to requests already in flight carry no news.
    if (now < this.calmUntil) return undefined;
    const o = this.options;
    this.concurrency = Math.max(1, Math.floor(this.concurrency / factor));
    this.gapMs = Math.min(o.maxGapMs, Math.max(this.gapMs * factor, o.minBackoffGapMs, this.baseGapMs));
    this.calmUntil = now + Math.max(this.gapMs, this.smoothedMs ?? 0);
    return 'slower';
  }

  private speedUp(): 'faster' | undefined {
    if (!this.throttled) return undefined;
    this.concurrency = Math.min(this.maxConcurrency, this.concurrency + 1);
    const gap = this.gapMs * 0.7;
    this.gapMs = gap - this.baseGapMs < 5 ? this.baseGapMs : gap;
    return 'faster';
  }
}
