import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type CrawlOptions,
  crawl,
  type FailureRecord,
  InvalidUrlError,
  jobExists,
  OptionError,
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

/** After the first SIGINT/SIGTERM, in-flight work gets this long before it is cancelled. */
const SHUTDOWN_DEADLINE_MS = 10_000;

const USAGE_ERRORS = [UsageError, OptionError, InvalidUrlError, SpiderNotFoundError, SpiderInvalidError];

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
    setTimeout(() => job.abort(), SHUTDOWN_DEADLINE_MS).unref();
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
    process.stderr.write(`\n${summary(stats, options.outputs)}\n`);
    return interrupted ? EXIT.interrupted : EXIT.ok;
  } catch (error) {
    progress?.stop();
    await failures?.close();
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

async function openFailures(path: string, append: boolean) {
  await mkdir(dirname(path), { recursive: true });
  const stream = createWriteStream(path, { flags: append ? 'a' : 'w' });
  await once(stream, 'open');
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
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
