import { Readable, pipeline as streamPipeline } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { BodyTooLargeError, DecodeError, TrawlError } from '../errors.js';
import type { Exchange } from './exchange.js';

export interface BodyResult {
  body: Uint8Array;
  wireBytes: number;
}

/**
 * Reads a response body, decompressing as it goes. The cap applies to the bytes on the wire and to
 * the decoded bytes separately, so a gzip bomb stops after `maxBytes` of output, not after it has
 * filled memory.
 */
export async function readBody(
  source: Readable,
  contentEncoding: string | undefined,
  maxBytes: number,
  signal?: AbortSignal,
  /** Keep the first `maxBytes` and stop reading instead of failing (robots.txt, RFC 9309 2.5). */
  truncate = false,
): Promise<BodyResult> {
  let wireBytes = 0;
  let decodedBytes = 0;
  const chunks: Buffer[] = [];
  const decoders = decodersFor(contentEncoding);
  // Thrown inside the read to end it once a truncated body holds what it keeps.
  const truncated = new Error('truncated at the cap');
  /** Past the cap: fails the read, or, when truncating, keeps what fits and ends it. */
  const over = (chunk: Buffer, before: number, what: 'wire' | 'decoded'): never => {
    if (!truncate) throw new BodyTooLargeError(maxBytes, what);
    if (what === 'decoded' || decoders.length === 0) chunks.push(chunk.subarray(0, maxBytes - before));
    throw truncated;
  };

  async function* countWire(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of input) {
      wireBytes += chunk.length;
      if (wireBytes > maxBytes) over(chunk, wireBytes - chunk.length, 'wire');
      yield chunk;
    }
  }
  async function collect(input: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of input) {
      decodedBytes += chunk.length;
      if (decodedBytes > maxBytes) over(chunk, decodedBytes - chunk.length, 'decoded');
      chunks.push(chunk);
    }
  }

  try {
    if (decoders.length === 0) {
      // Identity bodies, the common case, skip the stream pipeline and its per-stage cost.
      signal?.throwIfAborted();
      for await (const chunk of source as AsyncIterable<Buffer>) {
        wireBytes += chunk.length;
        if (wireBytes > maxBytes) over(chunk, wireBytes - chunk.length, 'wire');
        chunks.push(chunk);
      }
      return finish(chunks, wireBytes, wireBytes);
    }
    await (pipeline as (...args: unknown[]) => Promise<void>)(
      source,
      countWire,
      ...decoders,
      collect,
      signal ? { signal } : {},
    );
  } catch (error) {
    if (error === truncated) {
      source.destroy();
      const kept = chunks.reduce((n, c) => n + c.length, 0);
      return finish(chunks, kept, wireBytes);
    }
    throw asDecodeError(error, contentEncoding);
  }
  return finish(chunks, decodedBytes, wireBytes);
}

/** A decompressor's failure as a DecodeError; ours and the stream's other errors as they are. */
function asDecodeError(error: unknown, contentEncoding: string | undefined): unknown {
  if (error instanceof TrawlError) return error;
  const code = (error as { code?: string }).code ?? '';
  if (
    code.startsWith('Z_') ||
    code === 'ERR_BROTLI_DECOMPRESSION_FAILED' ||
    /zlib|brotli/i.test(String(error))
  )
    return new DecodeError(`cannot decode ${contentEncoding} body: ${(error as Error).message}`, {
      cause: error,
    });
  return error;
}

/** Encoded bodies up to this size that have fully arrived are decoded in one synchronous call. */
const DECODE_AT_ONCE_WIRE_BYTES = 256 * 1024;

/**
 * The body of an `Exchange`: an identity body is collected straight from the socket (refused up
 * front when its declared length is over the cap), and returned at once when it has already
 * arrived. An encoded one that has already arrived and is small is decoded in one call (a stream
 * pipeline per page costs several times the decoding itself); any other is streamed through
 * `readBody`.
 */
export function readResponseBody(
  exchange: Exchange,
  headers: Record<string, string>,
  maxBytes: number,
): BodyResult | Promise<BodyResult> {
  const encoding = headers['content-encoding'];
  if (!encoding || encoding.trim().toLowerCase() === 'identity') {
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes && /^\d+$/.test(declared)) {
      exchange.discard();
      return Promise.reject(new BodyTooLargeError(maxBytes, 'wire'));
    }
    const arrived = exchange.collectNow(maxBytes);
    if (arrived) return { body: arrived, wireBytes: exchange.wireBytes };
    // No async frame here: this is the path nearly every page takes.
    return exchange.collect(maxBytes).then((body) => ({ body, wireBytes: exchange.wireBytes }));
  }
  const coding = encoding.trim().toLowerCase();
  if (ONE_SHOT_CODINGS.has(coding)) {
    const arrived = exchange.collectNow(Math.min(maxBytes, DECODE_AT_ONCE_WIRE_BYTES));
    if (arrived) {
      try {
        return { body: decodeAtOnce(arrived, coding, maxBytes), wireBytes: exchange.wireBytes };
      } catch (error) {
        return Promise.reject(error);
      }
    }
  }
  return readBody(exchange.stream(), encoding, maxBytes);
}

const ONE_SHOT_CODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br']);

/**
 * Decodes a whole body in one call. `maxOutputLength` stops zlib once the output would pass the
 * cap, so a bomb costs at most `maxBytes` of output, as in the streaming path; a truncated stream
 * gives what it holds, also as there.
 */
function decodeAtOnce(bytes: Uint8Array, coding: string, maxBytes: number): Uint8Array {
  if (bytes.byteLength === 0) return bytes;
  const options = { maxOutputLength: maxBytes, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  let out: Buffer;
  try {
    if (coding === 'br') out = zlib.brotliDecompressSync(bytes, { maxOutputLength: maxBytes });
    else if (coding === 'deflate')
      out = isZlibWrapped(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
        ? zlib.inflateSync(bytes, options)
        : zlib.inflateRawSync(bytes, options);
    else out = zlib.gunzipSync(bytes, options);
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new BodyTooLargeError(maxBytes, 'decoded');
    throw new DecodeError(`cannot decode ${coding} body: ${(error as Error).message}`, { cause: error });
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function finish(chunks: Buffer[], decodedBytes: number, wireBytes: number): BodyResult {
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, decodedBytes);
  return { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), wireBytes };
}

function decodersFor(contentEncoding: string | undefined): NodeJS.ReadWriteStream[] {
  if (!contentEncoding) return [];
  const codings = contentEncoding
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c && c !== 'identity');
  // Codings are listed in the order they were applied, so they are undone in reverse.
  return codings.reverse().map((coding) => {
    switch (coding) {
      case 'gzip':
      case 'x-gzip':
        return zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH });
      case 'deflate':
        return inflateAnyDeflate();
      case 'br':
        return zlib.createBrotliDecompress();
      default:
        throw new DecodeError(`unsupported content-encoding ${coding}`);
    }
  });
}

/**
 * "deflate" on the web is either zlib-wrapped (RFC 1950) or raw (RFC 1951); the first bytes tell.
 * The inflater is piped, not fed by hand, so its output is pulled with backpressure and a bomb
 * never gets ahead of the decoded-size cap.
 */
function inflateAnyDeflate(): NodeJS.ReadWriteStream {
  return async function* (input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const source = input[Symbol.asyncIterator]();
    const first = await source.next();
    if (first.done) return;
    const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
    const inflater = isZlibWrapped(first.value)
      ? zlib.createInflate(options)
      : zlib.createInflateRaw(options);
    const feed = Readable.from(rest(first.value, source));
    yield* streamPipeline(feed, inflater, () => {}) as AsyncIterable<Buffer>;
  } as unknown as NodeJS.ReadWriteStream;
}

function isZlibWrapped(chunk: Buffer): boolean {
  if ((chunk[0]! & 0x0f) !== 8) return false;
  return chunk.length < 2 || (chunk[0]! * 256 + chunk[1]!) % 31 === 0;
}

async function* rest(first: Buffer, source: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield first;
    for (;;) {
      const next = await source.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await source.return?.();
  }
}
