import type { CrawlRequest } from '../types.js';

/**
 * Acknowledgement tracking: a request is done once the consumer has handled every item pushed
 * before it ended (a sink write resolved, or the loop moved on), so a crash or stop never marks a
 * page done whose items were lost. Requests end in the order their last items were pushed.
 */
export class Acks {
  /** Requests taken from the frontier and not yet done: fetching, parsing, or items not yet handled. */
  private readonly open = new Set<CrawlRequest>();
  /** Items pushed to the item stream so far, and how many of them the consumer has handled. */
  private pushed = 0;
  private acked = 0;
  /** Requests waiting for their items to be handled; `mark` is `pushed` after their last item. */
  private awaiting: Array<{ request: CrawlRequest; mark: number }> = [];
  private head = 0;

  /** `settled` hears of requests as they become done, in batches. */
  constructor(private readonly settled: (requests: CrawlRequest[]) => void) {}

  /** Taken and not done: cancelled in flight, or items never handled, when the crawl ended. */
  get unfinished(): number {
    return this.open.size;
  }

  /** The request was taken from the frontier and is under way. */
  opened(request: CrawlRequest): void {
    this.open.add(request);
  }

  /** The request went back to the frontier unfinished (a retry, or it did not start after all). */
  withdrawn(request: CrawlRequest): void {
    this.open.delete(request);
  }

  /** One more item is in the item stream. */
  itemPushed(): void {
    this.pushed++;
  }

  /** The request needs nothing more from the crawl; it is done once the items before it are handled. */
  complete(request: CrawlRequest): void {
    this.awaiting.push({ request, mark: this.pushed });
    this.settle();
  }

  /** The consumer has handled `count` more items. */
  ack(count: number): void {
    this.acked += count;
    this.settle();
  }

  private settle(): void {
    const done: CrawlRequest[] = [];
    while (this.head < this.awaiting.length) {
      const next = this.awaiting[this.head]!;
      if (next.mark > this.acked) break;
      this.head++;
      this.open.delete(next.request);
      done.push(next.request);
    }
    if (this.head > 1024 && this.head * 2 > this.awaiting.length) {
      this.awaiting = this.awaiting.slice(this.head);
      this.head = 0;
    }
    if (done.length > 0) this.settled(done);
  }
}
