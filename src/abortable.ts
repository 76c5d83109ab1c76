import { AbortedError } from './errors.js';

/**
 * Settles as `work` does, or rejects with an AbortedError once `signal` aborts, whichever comes
 * first: what waits on a fetch, a robots.txt or a sink that ignores the signal is not held up by
 * it. A rejection of `work` after the abort is handled here.
 */
export function abortable<T>(work: Promise<T> | T, signal: AbortSignal | undefined): Promise<T> {
  if (!(work instanceof Promise)) return Promise.resolve(work);
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(new AbortedError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
