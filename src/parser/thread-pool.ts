/**
 * A fixed set of worker threads, each running one task at a time, fed from one FIFO queue.
 *
 * The thread module announces itself with `{ ready: true }` once loaded and then answers every
 * task with exactly one reply. A task's `onStart` runs when a thread takes it, so a caller can time
 * the work and not the queue or a thread's start-up. A thread that dies (exit, uncaught error, out
 * of memory) fails its task with WorkerCrashError and is replaced; aborting a running task stops its
 * thread. When no thread can start, tasks fail with WorkerStartError, and a task that cannot be
 * sent (data that does not clone) with ItemError: neither is the thread's fault.
 *
 * Written for the parser pool instead of a general-purpose pool: per task it allocates one job
 * record and one message each way, and nothing that outlives the task (bench/README.md, "Parser pool: its own threads, not piscina").
 */
import { type ResourceLimits, type TransferListItem, Worker } from 'node:worker_threads';
import { AbortedError, ItemError, WorkerCrashError, WorkerStartError } from '../errors.js';

export interface ThreadPoolOptions {
  /** The module each thread runs: a file URL, or JavaScript source that loads it. */
  module: URL | { source: string };
  size: number;
  resourceLimits?: ResourceLimits;
  /** A thread failed while it had no task (it is replaced either way). */
  onIdleFailure?: (error: Error) => void;
}

export interface RunOptions {
  transferList?: readonly TransferListItem[];
  signal?: AbortSignal;
  /** Called when a thread takes the task. */
  onStart?: () => void;
}

/** What a thread sends back. */
export type ThreadReply<R> =
  { ready: true } | { ok: true; result: R } | { ok: false; message: string; stack?: string };

interface Job {
  task: unknown;
  options: RunOptions;
  resolve(result: unknown): void;
  reject(error: Error): void;
  onAbort: (() => void) | undefined;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  job: Job | undefined;
  /** The uncaught error the thread reported before it exited, if any. */
  failure: Error | undefined;
}

/** Threads that die before they are ready, in a row, before the pool gives up on its module. */
const MAX_STARTUP_FAILURES = 3;

export class ThreadPool<T, R> {
  private readonly threads = new Set<Thread>();
  private readonly idle: Thread[] = [];
  private readonly queue: Job[] = [];
  private startupFailures = 0;
  /**
   * Node options for threads: inherited as they are, unless the process was started on string
   * input (`node --input-type=module -e ...`), which a thread refuses to start with.
   */
  private execArgv = process.execArgv.some(isStringInputOption)
    ? workerExecArgv(process.execArgv)
    : undefined;
  private broken: Error | undefined;
  private closed = false;

  constructor(private readonly options: ThreadPoolOptions) {
    for (let i = 0; i < options.size; i++) this.spawn();
  }

  run(task: T, options: RunOptions = {}): Promise<R> {
    if (this.closed) return Promise.reject(new AbortedError('the parser pool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason ?? new AbortedError());
    return new Promise<R>((resolve, reject) => {
      const job: Job = {
        task,
        options,
        resolve,
        reject,
        onAbort: undefined,
      };
      if (signal) {
        job.onAbort = () => this.abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      const thread = this.idle.pop();
      if (thread) this.start(thread, job);
      else this.queue.push(job);
    });
  }

  /** Stops every thread; tasks queued or running are rejected with AbortedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new AbortedError('the parser pool is closed');
    for (const job of this.queue.splice(0)) this.settle(job, error);
    const threads = [...this.threads];
    this.threads.clear();
    this.idle.length = 0;
    for (const thread of threads) if (thread.job) this.settle(thread.job, error);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private spawn(): void {
    let worker: Worker;
    try {
      worker = this.newWorker();
    } catch (error) {
      // Called from event handlers too, where a throw would take the process down.
      this.giveUp(error as Error);
      return;
    }
    const thread: Thread = { worker, ready: false, job: undefined, failure: undefined };
    this.threads.add(thread);
    worker.on('message', (reply: ThreadReply<R>) => this.onReply(thread, reply));
    worker.on('error', (error: Error) => {
      thread.failure ??= error;
    });
    worker.on('exit', (code: number) => this.onExit(thread, code));
  }

  private newWorker(): Worker {
    const { module, resourceLimits } = this.options;
    const create = () =>
      new Worker(module instanceof URL ? module : module.source, {
        eval: !(module instanceof URL),
        ...(this.execArgv ? { execArgv: this.execArgv } : {}),
        ...(resourceLimits ? { resourceLimits } : {}),
      });
    try {
      return create();
    } catch (error) {
      // Given explicitly, options a thread cannot take (V8 flags such as --single-threaded-gc,
      // which apply to the whole process anyway) are refused: drop the ones Node names.
      const { code, message } = error as { code?: string; message: string };
      if (code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || !this.execArgv) throw error;
      const refused = new Set(message.slice(message.lastIndexOf(': ') + 2).split(', '));
      this.execArgv = this.execArgv.filter((arg) => !refused.has(arg));
      return create();
    }
  }

  private onReply(thread: Thread, reply: ThreadReply<R>): void {
    // A thread stopped on purpose may still have had a message on the way.
    if (!this.threads.has(thread)) return;
    if ('ready' in reply) {
      thread.ready = true;
      this.startupFailures = 0;
      this.release(thread);
      return;
    }
    const job = thread.job;
    if (!job) return;
    thread.job = undefined;
    this.release(thread);
    if (reply.ok) this.settle(job, undefined, reply.result);
    else {
      const error = new WorkerCrashError(reply.message);
      if (reply.stack) error.stack = reply.stack;
      this.settle(job, error);
    }
  }

  private onExit(thread: Thread, code: number): void {
    // Threads stopped on purpose (abort, close) are already out of the set.
    if (!this.threads.delete(thread)) return;
    const at = this.idle.indexOf(thread);
    if (at >= 0) this.idle.splice(at, 1);
    const failure = thread.failure ?? new Error(`worker exited with code: ${code}`);
    const error = new WorkerCrashError(failure.message, { cause: failure });
    const job = thread.job;
    thread.job = undefined;
    if (job) this.settle(job, error);
    else if (thread.ready) this.options.onIdleFailure?.(error);
    if (this.closed) return;
    if (!thread.ready && ++this.startupFailures >= MAX_STARTUP_FAILURES) {
      // The module itself cannot load: fail what waits instead of restarting threads forever.
      this.giveUp(failure);
      return;
    }
    this.spawn();
  }

  /** No thread can be started: fails what waits and every later task. */
  private giveUp(error: Error): void {
    this.broken ??= new WorkerStartError(`parser threads fail to start: ${error.message}`, { cause: error });
    for (const waiting of this.queue.splice(0)) this.settle(waiting, this.broken);
  }

  /** Gives a ready thread the next queued task, or marks it idle. */
  private release(thread: Thread): void {
    const job = this.queue.shift();
    if (job) this.start(thread, job);
    else this.idle.push(thread);
  }

  private start(thread: Thread, job: Job): void {
    thread.job = job;
    try {
      thread.worker.postMessage(job.task, job.options.transferList);
    } catch (error) {
      // The task could not be cloned: nothing reached the thread.
      thread.job = undefined;
      this.release(thread);
      const message = `the task cannot be sent to a parser thread: ${(error as Error).message}`;
      this.settle(job, new ItemError(message, { cause: error }));
      return;
    }
    job.options.onStart?.();
  }

  private abort(job: Job): void {
    const reason = job.options.signal?.reason ?? new AbortedError();
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(job, reason);
      return;
    }
    for (const thread of this.threads) {
      if (thread.job !== job) continue;
      // The only way to stop a running callback is to stop its thread.
      this.threads.delete(thread);
      thread.job = undefined;
      void thread.worker.terminate();
      if (!this.closed) this.spawn();
      this.settle(job, reason);
      return;
    }
  }

  private settle(job: Job, error: Error | undefined, result?: unknown): void {
    if (job.onAbort) job.options.signal?.removeEventListener('abort', job.onAbort);
    if (error) job.reject(error);
    else job.resolve(result);
  }
}

/** Options about the main script's string input that take the next argument as their value. */
const STRING_INPUT_WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '--input-type']);

function isStringInputOption(arg: string): boolean {
  return STRING_INPUT_WITH_VALUE.has(arg) || /^--(?:eval|print|input-type)=/.test(arg);
}

/**
 * The process's node options for a thread, minus those about the main script's string input
 * (`node --input-type=module -e ...`): a thread given them refuses to start.
 */
function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (STRING_INPUT_WITH_VALUE.has(arg)) i++;
    else if (!isStringInputOption(arg)) kept.push(arg);
  }
  return kept;
}
