import { type Command, InvalidArgumentError, Option } from 'commander';
import { type CrawlOptions, type MonitorOptions, parseListenAddress } from '../index.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';

// The flags `crawl` and `demo` share, and how they become crawl options.

export const intArg = (min: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < min)
    throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return Number(value);
};
export const collect = (value: string, previous: string[] = []) => [...previous, value];

export interface CrawlFlags {
  start?: string[];
  startFile?: string;
  output?: string[];
  concurrency?: number;
  perHostConcurrency?: number;
  perHostDelay?: number;
  maxPages?: number;
  maxDepth?: number;
  maxItems?: number;
  timeLimit?: number;
  workers?: number;
  jobDir?: string;
  recrawl?: boolean;
  recrawlOlderThan?: number;
  failures?: string;
  statsFile?: string;
  redis?: string;
  crawlId?: string;
  logLevel: LogLevel;
  progress: boolean;
  metrics?: string;
  dashboard?: string;
  report?: string;
}

/** The monitor the flags ask for, if any. */
export function monitorOptions(flags: CrawlFlags): MonitorOptions | undefined {
  if (flags.metrics === undefined && flags.dashboard === undefined && flags.report === undefined)
    return undefined;
  return {
    ...(flags.metrics !== undefined ? { metrics: flags.metrics } : {}),
    ...(flags.dashboard !== undefined ? { dashboard: flags.dashboard } : {}),
    ...(flags.report !== undefined ? { report: flags.report } : {}),
  };
}

const listenArg = (what: string) => (value: string) => {
  try {
    parseListenAddress(value, what);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
};

export function crawlOptions(flags: CrawlFlags): CrawlOptions {
  const perHost = {
    ...(flags.perHostConcurrency !== undefined ? { concurrency: flags.perHostConcurrency } : {}),
    ...(flags.perHostDelay !== undefined ? { delayMs: flags.perHostDelay } : {}),
  };
  return {
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    ...(Object.keys(perHost).length ? { perHost } : {}),
    ...(flags.maxPages !== undefined ? { maxPages: flags.maxPages } : {}),
    ...(flags.maxDepth !== undefined ? { maxDepth: flags.maxDepth } : {}),
    ...(flags.maxItems !== undefined ? { maxItems: flags.maxItems } : {}),
    ...(flags.timeLimit !== undefined ? { timeLimitMs: flags.timeLimit } : {}),
    ...(flags.jobDir !== undefined ? { jobDir: flags.jobDir } : {}),
    ...(flags.recrawlOlderThan !== undefined
      ? { recrawl: { olderThanMs: flags.recrawlOlderThan } }
      : flags.recrawl
        ? { recrawl: true }
        : {}),
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    ...(flags.redis !== undefined && flags.crawlId !== undefined
      ? { distributed: { redis: flags.redis, crawlId: flags.crawlId } }
      : {}),
  };
}

export function addCrawlFlags(command: Command): Command {
  return command
    .option('--concurrency <n>', 'fetches in flight across all hosts', intArg(1))
    .option('--per-host-concurrency <n>', 'fetches in flight per origin', intArg(1))
    .option('--per-host-delay <ms>', 'smallest gap between request starts per origin', intArg(0))
    .option('--max-pages <n>', 'stop after this many pages', intArg(1))
    .option('--max-depth <n>', 'ignore links deeper than this (start URLs are depth 0)', intArg(0))
    .option('--max-items <n>', 'stop after this many items', intArg(1))
    .option('--time-limit <ms>', 'stop scheduling after this many milliseconds', intArg(1))
    .option('--workers <n>', 'parser threads (0 = parse on the main thread)', intArg(0))
    .option('--failures <file>', 'write failed requests as JSONL {url, status?, error, attempts, callback}')
    .option('--stats-file <file>', 'write the final stats as JSON')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .option('--no-progress', 'do not show live progress')
    .option(
      '--metrics <host:port>',
      'serve Prometheus metrics at /metrics (PORT alone: loopback)',
      listenArg('--metrics'),
    )
    .option(
      '--dashboard <host:port>',
      'serve a live dashboard (PORT alone: loopback)',
      listenArg('--dashboard'),
    )
    .option('--report <file>', 'write a self-contained HTML report when the crawl ends');
}
