import { readFile } from 'node:fs/promises';
import { type FailureRecord, JsonlSink, type RequestInit, UsageError } from '../index.js';

// The files a crawl writes or reads besides its outputs, opened before the crawl starts.

/** Start URLs from a file: one URL a line, or JSONL records with `url` (and `callback`), e.g. a failures file. */
export async function readStartFile(path: string): Promise<Array<string | RequestInit>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read --start-file ${path}`);
  }
  const out: Array<string | RequestInit> = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('{')) {
      let record: { url?: unknown; callback?: unknown };
      try {
        record = JSON.parse(line);
      } catch {
        throw new UsageError(`${path}:${i + 1}: not valid JSON`);
      }
      if (typeof record.url !== 'string') throw new UsageError(`${path}:${i + 1}: record has no url`);
      out.push({
        url: record.url,
        ...(typeof record.callback === 'string' ? { callback: record.callback } : {}),
      });
    } else {
      out.push(line);
    }
  }
  return out;
}

/**
 * Opens a file the CLI writes besides the outputs, before the crawl starts: one that cannot be
 * created fails with one line. The sink makes its directory and, on resume, mends a last line a
 * crash left unfinished.
 */
export async function openFile(path: string, flag: string, append: boolean): Promise<JsonlSink> {
  const sink = new JsonlSink(path, { append });
  try {
    await sink.open();
  } catch (error) {
    const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
    const reason = cause?.code ? `${cause.code} on ${cause.path ?? path}` : (error as Error).message;
    throw new UsageError(`${flag} ${path} cannot be created: ${reason}`, { cause: error });
  }
  return sink;
}

export async function openFailures(path: string, append: boolean) {
  const sink = await openFile(path, '--failures', append);
  // Lines go out in the order the failures came; a write that fails is reported at close.
  let written = Promise.resolve();
  let failure: { error: unknown } | undefined;
  let closed = false;
  return {
    write(f: FailureRecord) {
      const line = {
        url: f.url,
        ...(f.status ? { status: f.status } : {}),
        error: f.error,
        attempts: f.attempts,
        callback: f.callback,
      };
      written = written
        .then(() => sink.append([line]))
        .catch((error: unknown) => {
          failure ??= { error };
        });
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await written;
      await sink.close();
      if (failure) throw failure.error;
    },
  };
}

export type FailuresFile = Awaited<ReturnType<typeof openFailures>>;
