import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type CrawlOptions,
  crawl,
  ensureDir,
  type FailureRecord,
  InvalidUrlError,
  jobExists,
  OptionError,
  OutputOpenError,
  type RequestInit,
  SpiderInvalidError,
  sharedCrawlExists,
  SpiderNotFoundError,
  sinkFromUri,
  UsageError,
} from '../index.js';
import { createLogger, type LogLevel } from './logger.js';
import { Progress, summary } from './progress.js';

export interface RunCrawlOptions {
  spider: string;
  start?: string[];
  startFile?: string;
  outputs: string[];
  crawl: CrawlOptions;
  failures?: string;
  statsFile?: string;
  logLevel: LogLevel;
  progress: boolean;
}

export const EXIT = { ok: 0, fatal: 1, usage: 2, interrupted: 130 } as const;

/**
 * After the first SIGINT/SIGTERM the process is gone within this long, whatever it is doing. In
 * flight work gets the crawl's stop grace (5 s by default) to finish; at CANCEL_AT_MS everything
 * still running is cancelled and the sinks are left to flush; at EXIT_AT_MS the process exits even
 * if a sink or a socket still hangs. What did not finish is counted (and kept by a job directory).
 */
const SHUTDOWN_DEADLINE_MS = 10_000;
const CANCEL_AT_MS = SHUTDOWN_DEADLINE_MS - 2_500;
const EXIT_AT_MS = SHUTDOWN_DEADLINE_MS - 500;

const USAGE_ERRORS = [
  UsageError,
  OptionError,
  InvalidUrlError,
  SpiderNotFoundError,
  SpiderInvalidError,
  OutputOpenError,
];

export function isUsageError(error: unknown): boolean {
  return USAGE_ERRORS.some((cls) => error instanceof cls);
}

/** Runs one crawl for the CLI: sinks, failures file, progress, signals, summary. Returns the exit code. */
export async function runCrawl(options: RunCrawlOptions): Promise<number> {
  const log = createLogger(options.logLevel);
  const start = [
    ...(options.start ?? []),
    ...(options.startFile ? await readStartFile(options.startFile) : []),
  ];
  // Resuming a job continues its outputs: items already written stay, new ones are appended.
  // So does joining a distributed crawl that already has state in Redis.
  const distributed = options.crawl.distributed;
  const resuming =
    (options.crawl.jobDir !== undefined && jobExists(options.crawl.jobDir)) ||
    (distributed !== undefined && (await sharedCrawlExists(distributed.redis, distributed.crawlId)));
  const sinks = options.outputs.map((uri) => sinkFromUri(uri, { append: resuming }));
  const job = crawl(options.spider, { ...options.crawl, ...(start.length ? { start } : {}) });

  const failures = options.failures ? await openFailures(options.failures, resuming) : undefined;
  if (options.statsFile) await creatable(options.statsFile, '--stats-file');
  job.events.on('failure', (f) => {
    log.warn(
      { url: f.url, status: f.status, error: f.error.code, callback: f.callback, attempts: f.attempts },
      f.error.message,
    );
    failures?.write(f);
  });
  job.events.on('retry', ({ request, error, delayMs }) =>
    log.debug({ url: request.url, attempt: request.attempts, delayMs, error: error.code }, 'retry'),
  );
  job.events.on('log', (e) => log[e.level]({ url: e.url, ...e.data }, e.message));

  let interrupted = false;
  const onSignal = () => {
    if (interrupted) {
      process.stderr.write('\nsecond interrupt: exiting now\n');
      process.exit(EXIT.interrupted);
    }
    interrupted = true;
    process.stderr.write('\ninterrupt: finishing in-flight work (press Ctrl-C again to exit now)\n');
    job.stop('interrupted');
    setTimeout(() => job.abort(), CANCEL_AT_MS).unref();
    setTimeout(() => {
      progress?.stop();
      process.stderr.write(
        `\nshutdown deadline: exiting with work unfinished (in flight ${job.stats.gauges.inFlight}, items not yet written ${job.stats.gauges.itemBacklog})\n`,
      );
      process.exit(EXIT.interrupted);
    }, EXIT_AT_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const progress = options.progress ? new Progress(job.stats) : undefined;
  progress?.start();
  job.events.once('request', () =>
    log.info({ spider: options.spider, outputs: options.outputs, resuming }, 'crawl started'),
  );
  try {
    const stats = await job.pipeTo(...sinks);
    progress?.stop();
    await failures?.close();
    if (options.statsFile) await writeJson(options.statsFile, stats);
    log.info(
      { stopReason: stats.stopReason, pages: stats.pages, items: stats.items, failed: stats.failed },
      'crawl finished',
    );
    process.stderr.write(`\n${summary(stats, options.outputs, { jobDir: options.crawl.jobDir })}\n`);
    return interrupted ? EXIT.interrupted : EXIT.ok;
  } catch (error) {
    progress?.stop();
    await failures?.close();
    if (interrupted) {
      process.stderr.write(`trawl: interrupted: ${(error as Error).message}\n`);
      return EXIT.interrupted;
    }
    if (isUsageError(error)) throw error;
    log.fatal({ err: error }, 'crawl failed');
    process.stderr.write(`trawl: ${(error as Error).message}\n`);
    return EXIT.fatal;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Start URLs from a file: one URL a line, or JSONL records with `url` (and `callback`), e.g. a failures file. */
async function readStartFile(path: string): Promise<Array<string | RequestInit>> {
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

/** Fails with one line, before the crawl starts, when `path`'s directory cannot be made. */
async function creatable(path: string, flag: string): Promise<void> {
  await ensureDir(dirname(path)).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      `${flag} ${path} cannot be created: ${error.code ?? error.message} on ${error.path ?? path}`,
    );
  });
}

async function openFailures(path: string, append: boolean) {
  await creatable(path, '--failures');
  const stream = createWriteStream(path, { flags: append ? 'a' : 'w' });
  await Promise.race([
    once(stream, 'open'),
    once(stream, 'error').then(([error]) => {
      throw new UsageError(`--failures ${path} cannot be opened: ${(error as Error).message}`);
    }),
  ]);
  return {
    write(f: FailureRecord) {
      const line = {
        url: f.url,
        ...(f.status ? { status: f.status } : {}),
        error: f.error,
        attempts: f.attempts,
        callback: f.callback,
      };
      stream.write(`${JSON.stringify(line)}\n`);
    },
    close: () => new Promise<void>((resolve) => stream.end(() => resolve())),
  };
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await ensureDir(dirname(path));
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
