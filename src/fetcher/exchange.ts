import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { BodyTooLargeError } from '../errors.js';

/** Bytes of an unwanted body drained so its socket can be reused; a longer one closes the socket. */
const DISCARD_LIMIT = 64 * 1024;

type Mode = 'undecided' | 'collect' | 'stream' | 'discard';

/**
 * One request/response as a dispatch handler. The response head resolves `head`; the body then
 * waits (the socket is paused) until the caller says what to do with it: collect it under a cap,
 * stream it into decoders, or discard it. Skipping undici's `request()` Readable and async
 * iteration is what keeps the fetcher near a bare request loop in req/s.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  /** True once the request was handed to the socket. */
  sent = false;
  status = 0;
  headers: Record<string, string> = {};
  readonly head: Promise<void>;
  private controller: Dispatcher.DispatchController | undefined;
  private resolveHead!: () => void;
  private rejectHead!: (error: Error) => void;
  private mode: Mode = 'undecided';
  private chunks: Buffer[] = [];
  private bytes = 0;
  private cap = Number.POSITIVE_INFINITY;
  private ended = false;
  private failure: Error | undefined;
  private settle: { resolve: (bytes: Uint8Array) => void; reject: (error: Error) => void } | undefined;
  private readable: Readable | undefined;

  /**
   * @param url the URL requested
   * @param onSent called right before the request is written to the socket, with what can abort it
   */
  constructor(
    readonly url: string,
    private readonly onSent?: (controller: Dispatcher.DispatchController) => void,
  ) {
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    // A failure before anyone awaits the head must not surface as an unhandled rejection.
    this.head.catch(() => undefined);
  }

  /** Reads the whole body, refusing more than `maxBytes` on the wire. */
  collect(maxBytes: number): Promise<Uint8Array> {
    this.cap = maxBytes;
    if (this.bytes > maxBytes) this.fail(new BodyTooLargeError(maxBytes, 'wire'));
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
      this.mode = 'collect';
      this.flush();
    });
  }

  /**
   * The whole body if it has already arrived (a small page usually comes in the packets of its
   * head), without waiting a tick; undefined when it has not, or when it broke or went over
   * `maxBytes` (then `collect` says why).
   */
  collectNow(maxBytes: number): Uint8Array | undefined {
    if (!this.ended || this.failure || this.bytes > maxBytes || this.mode !== 'undecided') return undefined;
    this.mode = 'collect';
    return this.concatenated();
  }

  /** The body as a Readable with backpressure, for decoders. */
  stream(): Readable {
    this.mode = 'stream';
    this.readable = new Readable({
      read: () => this.controller?.resume(),
      destroy: (error, callback) => {
        if (!this.ended) this.controller?.abort(error ?? new Error('body stream closed'));
        callback(error);
      },
    });
    for (const chunk of this.chunks.splice(0)) this.readable.push(chunk);
    if (this.failure) this.readable.destroy(this.failure);
    else if (this.ended) this.readable.push(null);
    return this.readable;
  }

  /** Drops the body: a short one is drained so the connection stays usable, a long one is cut. */
  discard(): void {
    this.mode = 'discard';
    this.chunks = [];
    if (this.ended || this.failure) return;
    if (this.bytes > DISCARD_LIMIT) this.controller?.abort(new Error('discarded'));
    else this.controller?.resume();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.sent = true;
    this.onSent?.(controller);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = flattenHeaders(headers);
    // A body declared larger than EAGER_BODY_BYTES waits, socket paused, until the caller decides
    // what it is for. Any other is read on: a small page usually comes in the packets of its
    // head, and pausing only to resume a moment later costs more than holding those bytes. The
    // caller decides within this turn of the event loop, so what is read before that is bounded
    // by what the socket had buffered; decoding, where a bomb would grow, comes later, under the cap.
    if (!mayReadOn(this.headers)) controller.pause();
    this.resolveHead();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    switch (this.mode) {
      case 'discard':
        if (this.bytes > DISCARD_LIMIT) controller.abort(new Error('discarded'));
        return;
      case 'stream':
        if (!this.readable!.push(chunk)) controller.pause();
        return;
      default:
        if (this.bytes > this.cap) this.fail(new BodyTooLargeError(this.cap, 'wire'));
        else this.chunks.push(chunk);
    }
  }

  onResponseEnd(): void {
    this.ended = true;
    if (this.mode === 'stream') this.readable!.push(null);
    else this.flush();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.failure ??= error;
    this.rejectHead(error);
    if (this.mode === 'stream') this.readable!.destroy(error);
    else this.flush();
  }

  onRequestUpgrade(): void {
    this.onResponseError(this.controller, new Error('unexpected protocol upgrade'));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    if (!this.ended) this.controller?.abort(error);
    this.flush();
  }

  private flush(): void {
    if (this.mode !== 'collect' || !this.settle) return;
    if (this.failure) {
      this.settle.reject(this.failure);
      return;
    }
    if (!this.ended) {
      this.controller?.resume();
      return;
    }
    this.settle.resolve(this.concatenated());
  }

  private concatenated(): Uint8Array {
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
    this.chunks = [];
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  }

  /** Bytes received on the wire so far. */
  get wireBytes(): number {
    return this.bytes;
  }
}

/** Bodies declared larger than this on the wire wait at the head until the caller decides. */
const EAGER_BODY_BYTES = 256 * 1024;

function mayReadOn(headers: Record<string, string>): boolean {
  const length = headers['content-length'];
  return length === undefined || Number(length) <= EAGER_BODY_BYTES;
}

/** undici gives lower-cased names; repeated headers are joined (Set-Cookie by newlines). */
function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    out[name] = typeof value === 'string' ? value : value.join(name === 'set-cookie' ? '\n' : ', ');
  }
  return out;
}
