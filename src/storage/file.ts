import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SinkError } from '../errors.js';

/** An append-only text file with awaited backpressure; the shared base of the file sinks. */
export class TextFile {
  private stream: WriteStream | undefined;
  private error: Error | undefined;

  constructor(
    readonly path: string,
    private readonly flags: 'w' | 'a' = 'w',
  ) {}

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    if (this.flags === 'a') await dropPartialLine(this.path);
    const stream = createWriteStream(this.path, { flags: this.flags });
    stream.on('error', (error) => {
      this.error = error;
    });
    await Promise.race([
      once(stream, 'open'),
      once(stream, 'error').then(([error]) => {
        throw new SinkError(`cannot open ${this.path}: ${(error as Error).message}`, { cause: error });
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

/**
 * Cuts a last line left unfinished by a crash, so appended lines start on a line of their own. The
 * cut line's items were not acknowledged, so a resumed crawl writes them again.
 */
async function dropPartialLine(path: string): Promise<void> {
  const size = await stat(path).then(
    (s) => s.size,
    () => 0,
  );
  if (size === 0) return;
  const handle = await open(path, 'r');
  try {
    const window = Math.min(size, 1 << 20);
    const buffer = Buffer.alloc(window);
    await handle.read(buffer, 0, window, size - window);
    if (buffer[window - 1] === 0x0a) return;
    const lastNewline = buffer.lastIndexOf(0x0a);
    await truncate(path, lastNewline < 0 ? (window === size ? 0 : size) : size - window + lastNewline + 1);
  } finally {
    await handle.close();
  }
}
