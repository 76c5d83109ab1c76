import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
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
    if (!this.stream) throw new SinkError(`${this.path} is not open`);
    if (!this.stream.write(text)) await once(this.stream, 'drain');
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
