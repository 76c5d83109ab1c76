import { type Command, InvalidArgumentError, Option } from 'commander';
import { type CrawlOptions, importSpider, type MonitorOptions, parseListenAddress } from '../index.js';
import {
  crawlOptionsFrom,
  deepMerge,
  describeSettings,
  parseSetFlags,
  readConfig,
} from './settings-layers.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel, type LogSetup } from './logger.js';

// The flags `crawl` and `demo` share, and how they become crawl options.

export const intArg = (min: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < min)
    throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return Number(value);
};
export const collect = (value: string, previous: string[] = []) => [...previous, value];

export interface CrawlFlags extends LogFlags {
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
  progress: boolean;
  statsInterval: number;
  set?: string[];
  config?: string;
  printSettings?: boolean;
  metrics?: string;
  dashboard?: string;
  report?: string;
}

export interface LogFlags {
  logLevel: LogLevel;
  logFormat?: LogFormat;
  logFile?: string;
  debug?: boolean;
}

export function logSetup(flags: LogFlags): LogSetup {
  return {
    level: flags.debug && flags.logLevel === 'info' ? 'debug' : flags.logLevel,
    ...(flags.logFormat ? { format: flags.logFormat } : {}),
    ...(flags.logFile ? { file: flags.logFile } : {}),
    debug: flags.debug ?? false,
  };
}

/** --log-level, --log-format, --log-file, --debug: every command that logs takes them. */
function addLogFlags(command: Command): Command {
  return command
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(
      new Option('--log-format <format>', 'log lines: pretty (default on a terminal) or json').choices(
        LOG_FORMATS,
      ),
    )
    .option('--log-file <file>', 'also write every log record as JSON to this file')
    .option('--debug', 'debug logs, and stack traces of errors');
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

function crawlOptions(flags: CrawlFlags): CrawlOptions {
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
  return addLogFlags(command)
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
    .option(
      '-s, --set <key=value>',
      'any setting by its path, e.g. -s perHost.delayMs=250 (repeatable)',
      collect,
    )
    .option('--config <file>', 'settings file (default: the nearest trawl.config.{ts,mjs,js,json} upward)')
    .option('--print-settings', 'print every effective setting and where it comes from, then exit')
    .option(
      '--stats-interval <ms>',
      'gap between stats log records when there is no status line',
      intArg(1),
      30_000,
    )
    .option('--no-progress', 'no status line and no stats records')
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

/**
 * The crawl options of a run: flags over -s, over the spider's settings, over the config file.
 * With --print-settings, prints them with their sources instead and returns undefined.
 */
export async function layeredCrawlOptions(
  spider: string,
  flags: CrawlFlags,
): Promise<CrawlOptions | undefined> {
  const { config, configPath } = await readConfig(flags.config);
  const cli = deepMerge(
    parseSetFlags(flags.set ?? []) as Record<string, unknown>,
    crawlOptions(flags) as Record<string, unknown>,
  );
  // The spider's settings matter only where the config file sets something, or to print them.
  const needSpider = flags.printSettings || Object.keys(config).length > 0;
  const spiderSettings = needSpider ? ((await importSpider(spider)).settings ?? {}) : {};
  const layers = { cli, spider: spiderSettings, config, configPath };
  if (!flags.printSettings) return crawlOptionsFrom(layers);
  process.stdout.write(`${describeSettings(layers)}\n`);
  return undefined;
}
