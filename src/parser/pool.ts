import { Piscina } from 'piscina';
import { ParseTimeoutError, WorkerCrashError } from '../errors.js';
import type { Spider } from '../spider.js';
import type { ParseOutcome, ParseTask } from './protocol.js';
import { runCallback } from './run-callback.js';

export interface ParserPoolOptions {
  /** Worker threads; 0 runs callbacks on the main thread. */
  workers: number;
  /** A parse running longer than this kills its worker (which is replaced) and fails the page. */
  parseTimeoutMs: number;
  /** Spider object for main-thread parsing; required when `workers` is 0. */
  spider?: Spider;
}

// Under the TypeScript test runner this file is pool.ts and the worker must be loaded through tsx.
const SELF_IS_TS = import.meta.url.endsWith('.ts');
const WORKER_FILE = new URL(SELF_IS_TS ? './worker.ts' : './worker.js', import.meta.url).href;

/** Runs spider callbacks in worker threads (piscina), or on the main thread when `workers` is 0. */
export class ParserPool {
  private readonly piscina: Piscina | undefined;

  constructor(private readonly options: ParserPoolOptions) {
    if (options.workers > 0) {
      this.piscina = new Piscina({
        filename: WORKER_FILE,
        minThreads: options.workers,
        maxThreads: options.workers,
        idleTimeout: 60_000,
        concurrentTasksPerWorker: 1,
        ...(SELF_IS_TS ? { execArgv: [...process.execArgv, '--import', 'tsx'] } : {}),
      });
      // A result that lands just after its task was aborted (timeout, crawl stop) is reported by
      // piscina as an 'error' event; without a listener it would crash the process. The task has
      // already been settled as aborted, so the late result is dropped.
      this.piscina.on('error', () => {});
    }
  }

  /** Threads callbacks run on, for sizing the parse queue. */
  get size(): number {
    return Math.max(1, this.options.workers);
  }

  async parse(task: ParseTask, signal?: AbortSignal): Promise<ParseOutcome> {
    if (!this.piscina) {
      if (!this.options.spider) throw new WorkerCrashError('no spider object for main-thread parsing');
      return runCallback(this.options.spider, task);
    }
    const timeout = AbortSignal.timeout(this.options.parseTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const body = ownBuffer(task.body);
    try {
      return (await this.piscina.run(
        { ...task, body },
        { signal: combined, transferList: [body.buffer as ArrayBuffer] },
      )) as ParseOutcome;
    } catch (error) {
      if (timeout.aborted && !signal?.aborted)
        throw new ParseTimeoutError(this.options.parseTimeoutMs, task.url);
      if (signal?.aborted) throw error;
      throw new WorkerCrashError(`parser worker failed on ${task.url}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    await this.piscina?.destroy();
  }
}

/**
 * A transferable copy-free view when the bytes own their ArrayBuffer; otherwise one copy, since
 * transferring a slice of Node's shared pool would detach unrelated buffers.
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
