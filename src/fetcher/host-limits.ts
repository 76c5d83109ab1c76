import type { HostLimit, HostRule } from '../options.js';

export interface ResolvedHostLimit {
  concurrency: number;
  delayMs: number;
  jitterMs: number;
}

interface HostState {
  limit: ResolvedHostLimit;
  active: number;
  /** Earliest time the next request to this origin may start. */
  nextStartAt: number;
  lastUsedAt: number;
}

/**
 * Per-origin admission: at most `concurrency` requests in flight and at least `delayMs` (+ jitter)
 * between two starts. Admission is a synchronous question the scheduler asks before it takes a
 * global slot, so a request never holds a global slot while it waits for its host.
 */
export class HostLimits {
  private readonly hosts = new Map<string, HostState>();
  private readonly random: () => number;

  constructor(
    private readonly defaults: ResolvedHostLimit,
    private readonly rules: HostRule[] = [],
    private readonly maxIdleHosts = 10_000,
    random: () => number = Math.random,
  ) {
    this.random = random;
  }

  /** 0 when a request to `origin` may start now, else the ms to wait. */
  waitMs(origin: string, now = Date.now()): number {
    const state = this.state(origin);
    if (state.active >= state.limit.concurrency) return Number.POSITIVE_INFINITY;
    return Math.max(0, state.nextStartAt - now);
  }

  /** Records a request start; call only after `waitMs` returned 0. */
  acquire(origin: string, now = Date.now()): void {
    const state = this.state(origin);
    state.active++;
    state.lastUsedAt = now;
    const jitter = state.limit.jitterMs > 0 ? this.random() * state.limit.jitterMs : 0;
    state.nextStartAt = now + state.limit.delayMs + jitter;
  }

  release(origin: string, now = Date.now()): void {
    const state = this.hosts.get(origin);
    if (!state) return;
    state.active = Math.max(0, state.active - 1);
    state.lastUsedAt = now;
    if (this.hosts.size > this.maxIdleHosts) this.forgetIdle(now);
  }

  limitFor(origin: string): ResolvedHostLimit {
    return this.state(origin).limit;
  }

  private state(origin: string): HostState {
    let state = this.hosts.get(origin);
    if (!state) {
      state = { limit: this.resolve(origin), active: 0, nextStartAt: 0, lastUsedAt: Date.now() };
      this.hosts.set(origin, state);
    }
    return state;
  }

  private resolve(origin: string): ResolvedHostLimit {
    const host = new URL(origin).hostname;
    for (const rule of this.rules) {
      if (matchesHost(rule.match, origin, host)) return { ...this.defaults, ...definedOnly(rule) };
    }
    return { ...this.defaults };
  }

  /** Hosts with nothing in flight whose gap has passed carry no state worth keeping. */
  private forgetIdle(now: number): void {
    for (const [origin, state] of this.hosts) {
      if (state.active === 0 && state.nextStartAt <= now) this.hosts.delete(origin);
      if (this.hosts.size <= this.maxIdleHosts / 2) break;
    }
  }
}

function definedOnly(rule: HostRule): Partial<HostLimit> {
  const out: Partial<HostLimit> = {};
  if (rule.concurrency !== undefined) out.concurrency = rule.concurrency;
  if (rule.delayMs !== undefined) out.delayMs = rule.delayMs;
  if (rule.jitterMs !== undefined) out.jitterMs = rule.jitterMs;
  return out;
}

export function matchesHost(match: string | RegExp, origin: string, host: string): boolean {
  if (match instanceof RegExp) return match.test(origin);
  const m = match.toLowerCase();
  if (m.includes('://')) return m.replace(/\/$/, '') === origin;
  if (m.startsWith('*.')) return host === m.slice(2) || host.endsWith(m.slice(1));
  return host === m;
}
