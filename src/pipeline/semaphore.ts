/**
 * A counting semaphore whose waits end with `false` once `signal` aborts, so no one stays parked
 * behind a slot that a cancelled crawl will never give back.
 */
export class Semaphore {
  private inUse = 0;
  private highest = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly capacity: number,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.releaseWaiters(), { once: true });
  }

  /** Slots taken now. */
  get held(): number {
    return this.inUse;
  }

  /** The most slots ever taken at once. */
  get peak(): number {
    return this.highest;
  }

  /** Takes a slot once one is free; false when the signal aborted first. */
  acquire(): Promise<boolean> {
    if (this.signal.aborted) return Promise.resolve(false);
    if (this.inUse < this.capacity) {
      this.take();
      return Promise.resolve(true);
    }
    return new Promise((resolve) =>
      this.waiters.push(() => {
        if (this.signal.aborted) return resolve(false);
        this.take();
        resolve(true);
      }),
    );
  }

  release(): void {
    this.inUse--;
    this.waiters.shift()?.();
  }

  private take(): void {
    this.inUse++;
    if (this.inUse > this.highest) this.highest = this.inUse;
  }

  private releaseWaiters(): void {
    while (this.waiters.length) this.waiters.shift()!();
  }
}
