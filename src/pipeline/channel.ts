/**
 * A bounded async queue between two stages. `push` resolves once there is room, so a slow consumer
 * pauses the producer; iteration ends after `close()` once drained, or throws after `fail()`.
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private readonly waitingPushers: Array<() => void> = [];
  private waitingPuller: ((result: IteratorResult<T>) => void) | undefined;
  private rejectPuller: ((error: unknown) => void) | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  constructor(readonly capacity: number) {}

  /** Items waiting to be taken. */
  get size(): number {
    return this.buffer.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async push(value: T): Promise<boolean> {
    while (this.buffer.length >= this.capacity && !this.closed) {
      await new Promise<void>((resolve) => this.waitingPushers.push(resolve));
    }
    if (this.closed) return false;
    if (this.waitingPuller) {
      const resolve = this.waitingPuller;
      this.waitingPuller = undefined;
      this.rejectPuller = undefined;
      resolve({ value, done: false });
    } else {
      this.buffer.push(value);
    }
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wakePushers();
    if (this.waitingPuller && this.buffer.length === 0) {
      const resolve = this.waitingPuller;
      this.waitingPuller = undefined;
      if (this.failure) this.rejectPuller?.(this.failure.error);
      else resolve({ value: undefined, done: true });
    }
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.buffer.length = 0;
    this.close();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) {
      const value = this.buffer.shift() as T;
      this.wakePushers(1);
      return Promise.resolve({ value, done: false });
    }
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waitingPuller = resolve;
      this.rejectPuller = reject;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next() };
  }

  private wakePushers(count = Number.POSITIVE_INFINITY): void {
    while (count-- > 0 && this.waitingPushers.length > 0) this.waitingPushers.shift()!();
  }
}
