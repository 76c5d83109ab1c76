import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import {
  type CrawlOptions,
  type CrawlStats,
  crawl,
  type FailureRecord,
  InvalidUrlError,
  jobExists,
  JsonlSink,
  type Monitor,
  type MonitorOptions,
  OptionError,
  OutputOpenError,
  type RequestInit,
  redactUrl,
  SpiderInvalidError,
  sharedCrawlExists,
  SpiderNotFoundError,
  sinkFromUri,
  startMonitor,
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
  /** Metrics endpoint, dashboard, report. */
  monitor?: MonitorOptions | undefined;
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
  const start = await startUrls(options);
  const resuming = await isResuming(options.crawl);
  const sinks = options.outputs.map((uri) => sinkFromUri(uri, { append: resuming }));
  const job = crawl(options.spider, { ...options.crawl, ...(start.length ? { start } : {}) });

  const failures = options.failures ? await openFailures(options.failures, resuming) : undefined;
  const writeStats = statsWriter(
    options.statsFile ? await openFile(options.statsFile, '--stats-file', false) : undefined,
  );
  // What goes to the log, the failures file or the summary names no credentials.
  const outputs = options.outputs.map(redactUrl);
  logJobEvents(job, log, failures);

  const monitor = options.monitor ? await openMonitor(job, options, log) : undefined;
  const progress = options.progress ? new Progress(job.stats) : undefined;
  const signals = handleSignals(job, progress);
  progress?.start();
  job.events.once('request', () => log.info({ spider: options.spider, outputs, resuming }, 'crawl started'));
  try {
    const stats = await job.pipeTo(...sinks);
    progress?.stop();
    await closeMonitor(monitor, log);
    await failures?.close();
    await writeStats(stats);
    log.info(
      { stopReason: stats.stopReason, pages: stats.pages, items: stats.items, failed: stats.failed },
      'crawl finished',
    );
    process.stderr.write(`\n${summary(stats, outputs, { jobDir: options.crawl.jobDir })}\n`);
    return signals.interrupted() ? EXIT.interrupted : EXIT.ok;
  } catch (error) {
    progress?.stop();
    await closeMonitor(monitor, log);
    await failures?.close();
    // A crawl that failed on its way still leaves the stats it reached; a usage error, none.
    await writeStats(isUsageError(error) && !signals.interrupted() ? undefined : job.stats);
    if (signals.interrupted()) {
      process.stderr.write(`trawl: interrupted: ${(error as Error).message}\n`);
      return EXIT.interrupted;
    }
    if (isUsageError(error)) throw error;
    log.fatal({ err: error }, 'crawl failed');
    process.stderr.write(`trawl: ${(error as Error).message}\n`);
    return EXIT.fatal;
  } finally {
    signals.dispose();
  }
}

/** Metrics and dashboard up before the first request; in a distributed crawl each process is labelled. */
async function openMonitor(job: Job, options: RunCrawlOptions, log: Logger): Promise<Monitor> {
  const distributed = options.crawl.distributed;
  const monitor = await startMonitor(job, {
    ...options.monitor,
    title: `trawl: ${basename(options.spider)}`,
    ...(distributed ? { labels: { process: `${hostname()}:${process.pid}` } } : {}),
  });
  if (monitor.metricsUrl) log.info({ url: monitor.metricsUrl }, 'metrics served');
  if (monitor.dashboardUrl) log.info({ url: monitor.dashboardUrl }, 'dashboard served');
  return monitor;
}

async function closeMonitor(monitor: Monitor | undefined, log: Logger): Promise<void> {
  try {
    const report = await monitor?.close();
    if (report) log.info({ file: report }, 'report written');
  } catch (error) {
    log.error({ err: error }, (error as Error).message);
  }
}

type Job = ReturnType<typeof crawl>;
type Logger = ReturnType<typeof createLogger>;
type FailuresFile = Awaited<ReturnType<typeof openFailures>>;

/** The start URLs given on the command line, then those from --start-file. */
async function startUrls(options: RunCrawlOptions): Promise<Array<string | RequestInit>> {
  return [...(options.start ?? []), ...(options.startFile ? await readStartFile(options.startFile) : [])];
}

/**
 * Resuming a job continues its outputs: items already written stay, new ones are appended.
 * So does joining a distributed crawl that already has state in Redis.
 */
async function isResuming(options: CrawlOptions): Promise<boolean> {
  const distributed = options.distributed;
  return (
    (options.jobDir !== undefined && jobExists(options.jobDir)) ||
    (distributed !== undefined && (await sharedCrawlExists(distributed.redis, distributed.crawlId)))
  );
}

/** The final stats as one JSON line, into the file opened before the crawl; once. */
function statsWriter(opened: JsonlSink | undefined) {
  let statsFile = opened;
  return async (stats: CrawlStats | undefined) => {
    const file = statsFile;
    statsFile = undefined;
    if (!file) return;
    try {
      if (stats) await file.write([{ ...stats }]);
    } finally {
      await file.close();
    }
  };
}

/** Failures, retries and the crawl's own log events go to the log (and failures to the failures file). */
function logJobEvents(job: Job, log: Logger, failures: FailuresFile | undefined): void {
  job.events.on('failure', (f) => {
    const url = redactUrl(f.url);
    log.warn(
      { url, status: f.status, error: f.error.code, callback: f.callback, attempts: f.attempts },
      f.error.message,
    );
    failures?.write({ ...f, url });
  });
  job.events.on('retry', ({ request, error, delayMs }) =>
    log.debug(
      { url: redactUrl(request.url), attempt: request.attempts, delayMs, error: error.code },
      'retry',
    ),
  );
  job.events.on('log', (e) =>
    log[e.level]({ ...(e.url ? { url: redactUrl(e.url) } : {}), ...e.data }, e.message),
  );
}

/**
 * SIGINT/SIGTERM: the first stops the crawl gracefully on the shutdown timeline above, a second
 * exits at once.
 */
function handleSignals(job: Job, progress: Progress | undefined) {
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
  return {
    interrupted: () => interrupted,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
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

/**
 * Opens a file the CLI writes besides the outputs, before the crawl starts: one that cannot be
 * created fails with one line. The sink makes its directory and, on resume, mends a last line a
 * crash left unfinished.
 */
async function openFile(path: string, flag: string, append: boolean): Promise<JsonlSink> {
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

async function openFailures(path: string, append: boolean) {
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
        .then(() => sink.write([line]))
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
