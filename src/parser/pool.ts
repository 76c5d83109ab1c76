import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { AbortedError, ParseTimeoutError, UsageError, WorkerCrashError } from '../errors.js';
import { DEFAULTS, defaultWorkers } from '../options.js';
import type { Spider } from '../spider.js';
import type { ParseOutcome, ParseTask } from './protocol.js';
import { type PreparedSpider, prepareSpider, runCallback } from './run-callback.js';
import { ThreadPool } from './thread-pool.js';

export interface ParserPoolOptions {
  /** Worker threads; 0 runs callbacks on the main thread. @default min(cores, 4) */
  workers?: number;
  /**
   * A page whose parse runs longer than this fails; in a worker, the worker is stopped and
   * replaced. Counted from when a worker starts the page. @default DEFAULTS.parseTimeoutMs
   */
  parseTimeoutMs?: number;
  /** Old-generation heap cap per worker, in MB; a worker over it is stopped and replaced. @default Node's */
  workerHeapMb?: number;
  /** Spider object for main-thread parsing; required when `workers` is 0. */
  spider?: Spider;
  /** Called when a worker fails outside of any page (it is replaced either way). */
  onWorkerError?: (error: Error) => void;
}

// Under the TypeScript test runner this file is pool.ts and the worker is worker.ts, which a thread
// loads through tsx's require hook (Node 20 applies no --import loader hooks inside worker threads).
const SELF_IS_TS = import.meta.url.endsWith('.ts');
const WORKER_MODULE: URL | { source: string } = SELF_IS_TS
  ? {
      source: `require(${JSON.stringify(createRequire(import.meta.url).resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(fileURLToPath(new URL('./worker.ts', import.meta.url)))});`,
    }
  : new URL('./worker.js', import.meta.url);
/**
 * Young generation of each worker, in MB: semi-spaces of up to 32 MB where Node's default gives 16
 * (V8 rounds a semi-space, a third of this, up to a power of two). A 300 KB listing page queried
 * card by card allocates ~24 MB; with the young generation collected between pages (see
 * young-generation.ts) all of it fits, so the page's tree is never copied mid-callback. V8 only
 * grows the space when much survives its collections, so on small pages a worker stays at 8 MB.
 */
const WORKER_YOUNG_GENERATION_MB = 96;

/**
 * Runs spider callbacks in worker threads (ThreadPool), or on the main thread when `workers` is 0.
 * Bodies are transferred to the worker, not copied; a page that overruns its timeout gets its worker
 * replaced; a worker that dies rejects its page with WorkerCrashError and is replaced. Failures that
 * are not the worker's (no thread can start, a task that cannot be sent) keep their own class, so
 * the page is not tried again.
 */
export class ParserPool {
  private readonly threads: ThreadPool<ParseTask, ParseOutcome> | undefined;
  private readonly inline: PreparedSpider | undefined;
  private readonly workers: number;
  private readonly parseTimeoutMs: number;
  /**
   * Controllers of pages that settled without an abort, for the next pages. A signal that has
   * had a listener outlives young-generation collections on Node 20 (~570 bytes each), and
   * everything listening on it with it (bench/README.md, "What outlives a page").
   */
  private readonly idleControllers: AbortController[] = [];

  constructor(options: ParserPoolOptions = {}) {
    this.workers = options.workers ?? defaultWorkers();
    this.parseTimeoutMs = options.parseTimeoutMs ?? DEFAULTS.parseTimeoutMs;
    if (this.workers === 0) {
      if (!options.spider) throw new UsageError('no spider object for main-thread parsing');
      this.inline = prepareSpider(options.spider);
      return;
    }
    this.threads = new ThreadPool<ParseTask, ParseOutcome>({
      module: WORKER_MODULE,
      size: this.workers,
      resourceLimits: {
        maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
        ...(options.workerHeapMb ? { maxOldGenerationSizeMb: options.workerHeapMb } : {}),
      },
      // A worker failing between pages (say, a stray rejection from a callback) is replaced.
      ...(options.onWorkerError ? { onIdleFailure: options.onWorkerError } : {}),
    });
  }

  /** Threads callbacks run on, for sizing the parse queue. */
  get size(): number {
    return Math.max(1, this.workers);
  }

  /** Whether `parse` transfers (and so detaches) the task's body. */
  get transfersBody(): boolean {
    return this.threads !== undefined;
  }

  /**
   * Parses one page. Resolves with its outcome (a callback error is part of it); rejects with
   * ParseTimeoutError, WorkerCrashError, or the abort reason when `signal` aborts.
   */
  parse(task: ParseTask, signal?: AbortSignal): Promise<ParseOutcome> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new AbortedError());
    return this.threads ? this.inWorker(this.threads, task, signal) : this.onMainThread(task, signal);
  }

  async close(): Promise<void> {
    await this.threads?.close();
  }

  private async inWorker(
    threads: ThreadPool<ParseTask, ParseOutcome>,
    task: ParseTask,
    signal: AbortSignal | undefined,
  ): Promise<ParseOutcome> {
    // One controller per page in flight, aborted by the timeout or by the caller's signal;
    // listeners are removed when the page settles, so a long-lived crawl signal collects none.
    const controller = this.idleControllers.pop() ?? new AbortController();
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    // The clock starts when a worker takes the page, not while it waits behind other pages.
    const onStart = () => {
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.parseTimeoutMs);
    };
    // The pool owns the bytes from here: moved (not copied) out of the caller's view now, even if
    // the page waits for a thread.
    const own = ownBuffer(task.body);
    const owned = own === task.body ? structuredClone(own, { transfer: [own.buffer as ArrayBuffer] }) : own;
    try {
      return await threads.run(Object.assign({}, task, { body: owned }), {
        signal: controller.signal,
        transferList: [owned.buffer as ArrayBuffer],
        onStart,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? new AbortedError();
      if (timedOut) throw new ParseTimeoutError(this.parseTimeoutMs, task.url);
      if (!(error instanceof WorkerCrashError)) throw error;
      throw new WorkerCrashError(`parser worker died on ${task.url}: ${error.message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (!controller.signal.aborted) this.idleControllers.push(controller);
    }
  }

  /**
   * Main-thread parsing, for debugging and inline spiders. A synchronous endless loop cannot be
   * stopped here; an async callback that never settles is given up on after the timeout.
   */
  private onMainThread(task: ParseTask, signal: AbortSignal | undefined): Promise<ParseOutcome> {
    return new Promise((resolve, reject) => {
      const onAbort = () => finish(() => reject(signal?.reason ?? new AbortedError()));
      const timer = setTimeout(
        () => finish(() => reject(new ParseTimeoutError(this.parseTimeoutMs, task.url))),
        this.parseTimeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      runCallback(this.inline!, task).then(
        (outcome) => finish(() => resolve(outcome)),
        (error) => finish(() => reject(error)),
      );
    });
  }
}

/**
 * A view that can be transferred without copying when the bytes own their ArrayBuffer; otherwise
 * one copy, since transferring a slice of Node's shared pool would detach unrelated buffers.
 */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  )
    return bytes;
  return new Uint8Array(bytes);
}
