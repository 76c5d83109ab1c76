import { setMaxListeners } from 'node:events';
import { AbortedError } from '../errors.js';
import type { CrawlPhase } from './retry-decision.js';
import type { StopReason } from './stats.js';

/**
 * How a crawl winds down. A stop ends scheduling: in-flight work finishes and its items are still
 * delivered, within the stop grace; then fetches and parses are cancelled (items already parsed
 * still reach the consumer). An abort cancels everything at once.
 */
export class Shutdown {
  private readonly everything = new AbortController();
  /** Fetches and parses only; aborting `everything` aborts this too. */
  private readonly work = new AbortController();
  /** Fires on a stop as well as on an abort: what waits for the crawl to begin gives up. */
  private readonly stopping = new AbortController();
  private graceTimer: NodeJS.Timeout | undefined;
  private why: StopReason | undefined;

  constructor() {
    // Every in-flight fetch and parse listens to these; far more than EventTarget's default of 10.
    setMaxListeners(0, this.everything.signal);
    setMaxListeners(0, this.work.signal);
    const everything = this.everything.signal;
    everything.addEventListener('abort', () => this.work.abort(everything.reason), { once: true });
  }

  /** Aborts on an abort or a fatal error: sink writes and everything else give up. */
  get signal(): AbortSignal {
    return this.everything.signal;
  }

  /** Aborts when in-flight fetches and parses are cancelled. */
  get workSignal(): AbortSignal {
    return this.work.signal;
  }

  /** Aborts on the first stop or abort. */
  get stopSignal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Why the crawl is stopping; undefined while it runs. */
  get reason(): StopReason | undefined {
    return this.why;
  }

  get phase(): CrawlPhase {
    if (this.work.signal.aborted) return 'cancelled';
    return this.why ? 'stopping' : 'running';
  }

  /** The first reason given is the one reported. */
  stop(reason: StopReason): void {
    this.why ??= reason;
    this.stopping.abort(new AbortedError());
  }

  abort(): void {
    this.stop('aborted');
    this.everything.abort(new AbortedError());
  }

  /** A fatal error: everything is cancelled, and the error is the reason. */
  fail(error: unknown): void {
    this.why = 'error';
    this.everything.abort(error);
  }

  /** After a stop, in-flight work gets `graceMs` to finish; then it is cancelled. */
  armGrace(graceMs: number): void {
    if (this.graceTimer || this.work.signal.aborted) return;
    this.graceTimer = setTimeout(() => this.work.abort(new AbortedError()), graceMs);
  }

  /** In-flight work is over: no cancel is due any more. */
  disarm(): void {
    clearTimeout(this.graceTimer);
  }
}
