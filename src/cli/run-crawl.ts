import { hostname } from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CrawlOptions,
  type CrawlStats,
  crawl,
  type FailureRecord,
  jobExists,
  type JsonlSink,
  type Monitor,
  type MonitorOptions,
  type RequestInit,
  redactUrl,
  sharedCrawlExists,
  sinkFromUri,
  startMonitor,
} from '../index.js';
import { type FailuresFile, openFailures, openFile, readStartFile } from './crawl-files.js';
import { EXIT, isUsageError } from './exit.js';
import { type CliLogger, createLogger, type LogSetup } from './logger.js';
import { HostTimes, reportStats, StatusLine } from './progress.js';
import { handleSignals } from './signals.js';
import { summary } from './summary.js';
import { Terminal } from './terminal.js';

export interface RunCrawlOptions {
  spider: string;
  start?: string[];
  startFile?: string;
  outputs: string[];
  crawl: CrawlOptions;
  failures?: string;
  statsFile?: string;
  log: LogSetup;
  /** Live status line on a terminal, stats records otherwise. */
  progress: boolean;
  /** Gap between stats records when there is no status line. */
  statsIntervalMs: number;
  /** Metrics endpoint, dashboard, report. */
  monitor?: MonitorOptions | undefined;
}

/** Runs one crawl for the CLI: sinks, failures file, progress, signals, summary. Returns the exit code. */
export async function runCrawl(options: RunCrawlOptions): Promise<number> {
  const terminal = new Terminal();
  const logger = await createLogger(options.log, terminal);
  try {
    return await crawlWith(options, terminal, logger);
  } finally {
    await logger.close();
  }
}

async function crawlWith(options: RunCrawlOptions, terminal: Terminal, logger: CliLogger): Promise<number> {
  const { log } = logger;
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
  const refused = logJobEvents(job, logger, failures);
  const hosts = new HostTimes(job);

  const monitor = options.monitor ? await openMonitor(job, options, log) : undefined;
  const display = startDisplay(job, options, terminal, logger);
  const signals = handleSignals(job, (message) => notice(message, terminal, logger), display);
  job.events.once('request', () => log.info({ spider: options.spider, outputs, resuming }, 'crawl started'));
  try {
    const stats = await job.pipeTo(...sinks);
    display();
    await closeMonitor(monitor, log);
    await failures?.close();
    await writeStats(stats);
    const context = { outputs, jobDir: options.crawl.jobDir, slowestHosts: hosts.slowest() };
    const fields = finishedFields(stats);
    log.info(logger.pretty ? fields : { ...fields, stats, ...context }, 'crawl finished');
    const down = signals.interrupted() ? undefined : unreachable(stats, refused);
    if (down) {
      // JSON logs stay JSON lines; a person reads one plain line.
      if (logger.pretty) terminal.write(`trawl: ${down}\n`);
      else log.fatal({ hosts: [...refused] }, down);
      return EXIT.fatal;
    }
    if (logger.pretty) terminal.write(`\n${summary(stats, context)}\n`);
    if (signals.interrupted()) return EXIT.interrupted;
    return fellBack(stats) ? EXIT.fatal : EXIT.ok;
  } catch (error) {
    display();
    await closeMonitor(monitor, log);
    await failures?.close();
    // A crawl that failed on its way still leaves the stats it reached; a usage error, none.
    await writeStats(isUsageError(error) && !signals.interrupted() ? undefined : job.stats);
    if (signals.interrupted()) {
      log.warn({ err: error }, 'interrupted');
      return EXIT.interrupted;
    }
    throw error;
  } finally {
    signals.dispose();
  }
}

/** Metrics and dashboard up before the first request; in a distributed crawl each process is labelled. */
async function openMonitor(job: Crawl, options: RunCrawlOptions, log: CliLogger['log']): Promise<Monitor> {
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

async function closeMonitor(monitor: Monitor | undefined, log: CliLogger['log']): Promise<void> {
  try {
    const report = await monitor?.close();
    if (report) log.info({ file: report }, 'report written');
  } catch (error) {
    log.error({ err: error }, (error as Error).message);
  }
}

/** An output that failed for good sends its items to a fallback file: the crawl did not finish cleanly. */
function fellBack(stats: CrawlStats): boolean {
  for (const sink of stats.sinks)
    if (sink.fallback)
      process.stderr.write(
        `trawl: output ${sink.label} failed; ${sink.fallbackItems} items are in ${sink.fallback}\n`,
      );
  return stats.fallbackItems > 0;
}

/** The status line on a terminal with human logs, stats records otherwise; returns its stop. */
function startDisplay(
  job: Crawl,
  options: RunCrawlOptions,
  terminal: Terminal,
  logger: CliLogger,
): () => void {
  if (!options.progress) return () => undefined;
  if (terminal.tty && logger.pretty) {
    const line = new StatusLine(job.stats, terminal, options.crawl);
    line.start();
    return () => line.stop();
  }
  return reportStats(job.stats, options.statsIntervalMs, (fields, message) =>
    logger.log.info(fields, message),
  );
}

function finishedFields(stats: CrawlStats) {
  return { stopReason: stats.stopReason, pages: stats.pages, items: stats.items, failed: stats.failed };
}

/**
 * A crawl that fetched nothing because the hosts of its start URLs refused every connection ends
 * with one line and exit 1: the site is down or the URL names the wrong port.
 */
function unreachable(stats: CrawlStats, refused: Set<string>): string | undefined {
  if (stats.pages > 0 || refused.size === 0 || stats.responses['2xx'] + stats.responses['4xx'] > 0)
    return undefined;
  return `cannot connect to ${[...refused].join(', ')} (connection refused): is the site up, and is --start right?`;
}

type Crawl = ReturnType<typeof crawl>;

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
      if (stats) await file.append([stats]);
    } finally {
      await file.close();
    }
  };
}

/**
 * Failures, retries and the crawl's own log events go to the log (and failures to the failures
 * file). Returns the hosts of start URLs that refused connections.
 */
function logJobEvents(job: Crawl, { log }: CliLogger, failures: FailuresFile | undefined): Set<string> {
  const refused = new Set<string>();
  job.events.on('failure', (f: FailureRecord) => {
    const url = redactUrl(f.url);
    // A callback that threw is logged once, by the crawl's own error line with the spider's frames.
    if (f.stage === 'callback') return failures?.write({ ...f, url });
    if (
      f.depth === 0 &&
      f.error.code === 'TRAWL_ERR_NETWORK' &&
      /ECONNREFUSED|refused/i.test(f.error.message)
    )
      refused.add(new URL(url).host);
    log.warn(
      { url, status: f.status, code: f.error.code, callback: f.callback, attempts: f.attempts },
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
  job.events.on('log', (e) => {
    const data =
      typeof e.data?.stack === 'string' ? { ...e.data, stack: spiderFrames(e.data.stack) } : e.data;
    log[e.level]({ ...(e.url ? { url: redactUrl(e.url) } : {}), ...data }, e.message);
  });
  return refused;
}

/** trawl's own files: frames in them say nothing about the spider that threw. */
const OWN_FILES = fileURLToPath(new URL('../', import.meta.url));
const OWN_URLS = new URL('../', import.meta.url).href;

/** A stack without the frames of trawl and Node internals, so the spider's own lines are what is left. */
function spiderFrames(stack: string): string {
  const lines = stack.split('\n');
  const kept = lines.filter(
    (line) =>
      !/^\s+at /.test(line) ||
      !(line.includes(OWN_FILES) || line.includes(OWN_URLS) || /\(<anonymous>\)|node:internal/.test(line)),
  );
  return kept.some((line) => /^\s+at /.test(line)) ? kept.join('\n') : stack;
}

/**
 * A line about the process itself (an interrupt, the shutdown deadline), shown whatever the log
 * level: above the status line on a terminal, as a warn record in JSON mode, so stderr stays JSON.
 */
function notice(message: string, terminal: Terminal, logger: CliLogger): void {
  if (logger.pretty) terminal.write(`${message}\n`);
  else
    process.stderr.write(`${JSON.stringify({ level: 40, time: new Date().toISOString(), msg: message })}\n`);
}
