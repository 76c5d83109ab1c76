import { once } from 'node:events';
import { constants, createWriteStream, openSync } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureDir } from '../ensure-dir.js';
import { OutputOpenError, SinkError } from '../errors.js';

/** An append-only text file with awaited backpressure; the shared base of the file sinks. */
export class TextFile {
  private stream: Writable | undefined;
  private error: Error | undefined;

  /**
   * `'w'` truncates; `'a'` appends, after `repair` mends what a crash left at the end of the file
   * (by default a last line left unfinished is cut).
   */
  constructor(
    readonly path: string,
    private readonly flags: 'w' | 'a' = 'w',
    private readonly repair: (path: string) => Promise<void> = dropPartialLine,
  ) {}

  async open(signal?: AbortSignal): Promise<void> {
    if (await isPipe(this.path)) {
      this.stream = await openPipe(this.path, signal);
      this.stream.on('error', (error) => {
        this.error = error;
      });
      return;
    }
    await ensureDir(dirname(this.path)).catch((error: NodeJS.ErrnoException) => {
      throw new OutputOpenError(
        `cannot create ${this.path}: ${error.code ?? error.message} on ${error.path ?? dirname(this.path)}`,
        { cause: error },
      );
    });
    if (this.flags === 'a') await this.repair(this.path);
    const stream = createWriteStream(this.path, { flags: this.flags });
    stream.on('error', (error) => {
      this.error = error;
    });
    await Promise.race([
      once(stream, 'open'),
      once(stream, 'error').then(([error]) => {
        throw new OutputOpenError(`cannot open ${this.path}: ${(error as Error).message}`, { cause: error });
      }),
    ]);
    this.stream = stream;
  }

  async write(text: string): Promise<void> {
    if (this.error)
      throw new SinkError(`write to ${this.path} failed: ${this.error.message}`, { cause: this.error });
    const stream = this.stream;
    if (!stream) throw new SinkError(`${this.path} is not open`);
    // Resolve once the text is handed to the OS, not merely buffered in this process: a job
    // directory marks pages done after this, and a kill -9 must not lose what was marked.
    await new Promise<void>((resolve, reject) =>
      stream.write(text, (error) =>
        error
          ? reject(new SinkError(`write to ${this.path} failed: ${error.message}`, { cause: error }))
          : resolve(),
      ),
    );
  }

  async close(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return;
    await new Promise<void>((resolve, reject) =>
      stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
}

async function isPipe(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFIFO(),
    () => false,
  );
}

/** How often an output pipe with no reader yet is tried again. */
const PIPE_READER_POLL_MS = 100;

/**
 * A named pipe opened without blocking and written through libuv's event loop. A plain open or
 * write would sit in the thread pool until a reader comes or reads, and a process with a thread
 * stuck there cannot even exit; this way a pipe nobody reads only stalls its writes, which a stop
 * or abort leaves behind.
 */
async function openPipe(path: string, signal: AbortSignal | undefined): Promise<Socket> {
  for (;;) {
    try {
      const fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
      return new Socket({ fd, readable: false, writable: true });
    } catch (error) {
      // ENXIO: no reader has the pipe open yet.
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO')
        throw new OutputOpenError(`cannot open ${path}: ${(error as Error).message}`, { cause: error });
    }
    await sleep(PIPE_READER_POLL_MS, undefined, signal ? { signal } : {});
  }
}

/** The last MiB of a file (all of a smaller one) and where it starts; undefined for an empty or missing file. */
export async function readTail(
  path: string,
): Promise<{ buffer: Buffer; start: number; size: number } | undefined> {
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (size === 0) return undefined;
  const handle = await open(path, 'r');
  try {
    const window = Math.min(size, 1 << 20);
    const buffer = Buffer.alloc(window);
    await handle.read(buffer, 0, window, size - window);
    return { buffer, start: size - window, size };
  } finally {
    await handle.close();
  }
}

/**
 * Cuts a last line left unfinished by a crash, so appended lines start on a line of their own. The
 * cut line's items were not acknowledged, so a resumed crawl writes them again.
 */
async function dropPartialLine(path: string): Promise<void> {
  const tail = await readTail(path);
  if (!tail) return;
  const { buffer, start, size } = tail;
  if (buffer[buffer.length - 1] === 0x0a) return;
  const lastNewline = buffer.lastIndexOf(0x0a);
  await truncate(path, lastNewline < 0 ? (start === 0 ? 0 : size) : start + lastNewline + 1);
}
