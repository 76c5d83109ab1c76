import type { CrawlRequest, PageValidators, RequestInit } from '../types.js';
import type { Frontier } from './frontier.js';
import { type Added, type FrontierStore, type HostGate, type NextPick, offerEach } from './frontier-store.js';
import type { JobDir } from './job-dir.js';
import { PageLog } from './page-log.js';

/**
 * The in-memory frontier kept in a job directory: every queued request is logged, every finished
 * one marked done, so a stopped or killed crawl resumes with what it had not finished.
 */
export class JobDirStore implements FrontierStore {
  readonly claimEveryMs = Number.POSITIVE_INFINITY;
  /** Taken and not done: still to do, should the log be compacted now. */
  private readonly taken = new Set<CrawlRequest>();
  private readonly pages: PageLog;
  /** Fingerprints of the requests restored as pending, so a re-crawl does not queue them twice. */
  private restoredPending = new Set<string>();

  constructor(
    private readonly frontier: Frontier,
    private readonly log: JobDir,
  ) {
    this.pages = new PageLog(log.dir);
  }

  get location(): string {
    return this.log.dir;
  }

  get pending(): number {
    return this.frontier.pending;
  }

  async restore(): Promise<number> {
    const restored = await this.log.open();
    for (const fp of restored.seenFingerprints) this.frontier.markSeen(fp);
    for (const key of restored.seenKeys) this.frontier.markSeenKey(key);
    for (const request of restored.pending) this.frontier.requeue(request);
    this.restoredPending = new Set(restored.pending.map((r) => r.fingerprint));
    await this.pages.open();
    return restored.pending.length;
  }

  /**
   * Queues a revisit of every GET page on record last fetched at least `olderThanMs` ago, with its
   * validators. Revisits pass the seen set (they were seen) and are logged, so a re-crawl that is
   * stopped resumes its revisits. Resolves with how many were queued.
   */
  queueRevisits(olderThanMs: number, now = Date.now()): number {
    let queued = 0;
    for (const { request, validators } of this.pages.due(now - olderThanMs)) {
      if (request.method !== 'GET' || this.restoredPending.has(request.fingerprint)) continue;
      const revisit: CrawlRequest = { ...request, attempts: 0, dontFilter: true, revisit: validators };
      this.log.queued(revisit);
      this.frontier.requeue(revisit);
      queued++;
    }
    return queued;
  }

  visited(request: CrawlRequest, validators: PageValidators): void {
    this.pages.visited(request, validators);
  }

  async add(requests: readonly RequestInit[], parent?: CrawlRequest): Promise<Added> {
    // Logged before the page they came from can be marked done: the log is written in order.
    return offerEach(requests, parent, (init, from) => {
      const request = this.frontier.offer(init, from);
      if (typeof request !== 'string') this.log.queued(request);
      return request;
    });
  }

  async claim(): Promise<void> {}

  take(gate: HostGate, now = Date.now()): NextPick {
    const pick = this.frontier.take(gate, now);
    if (pick && 'request' in pick) this.taken.add(pick.request);
    return pick;
  }

  requeue(request: CrawlRequest): void {
    this.taken.delete(request);
    this.frontier.requeue(request);
  }

  async done(requests: readonly CrawlRequest[]): Promise<void> {
    for (const request of requests) this.taken.delete(request);
    await this.log.done(requests.map((request) => request.fingerprint));
    await this.log.maybeCompact({
      pending: () => this.unfinished(),
      seenKeys: () => this.frontier.seenKeys(),
    });
  }

  async exhausted(): Promise<boolean> {
    return this.frontier.pending === 0;
  }

  async close(): Promise<void> {
    await Promise.all([this.log.close(), this.pages.close()]);
  }

  private *unfinished(): Iterable<CrawlRequest> {
    yield* this.frontier.drain();
    yield* this.taken;
  }
}
