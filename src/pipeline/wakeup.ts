/** Lets the scheduler sleep until something changed or a deadline passed, whichever is first. */
export class Wakeup {
  private resolve: (() => void) | undefined;

  notify(): void {
    this.resolve?.();
    this.resolve = undefined;
  }

  /** Resolves on the next `notify`, or after `ms` (Infinity: only on `notify`). */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => this.notify(), Math.max(1, ms)) : undefined;
      this.resolve = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }
}
