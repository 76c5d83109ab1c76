#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { startDemoSite } from '../demo/site.js';
import type { CrawlOptions } from '../index.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import { EXIT, isUsageError, runCrawl } from './run-crawl.js';

const intArg = (min: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < min)
    throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return Number(value);
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

interface CrawlFlags {
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
  failures?: string;
  statsFile?: string;
  redis?: string;
  crawlId?: string;
  logLevel: LogLevel;
  progress: boolean;
}

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
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    ...(flags.redis !== undefined && flags.crawlId !== undefined
      ? { distributed: { redis: flags.redis, crawlId: flags.crawlId } }
      : {}),
  };
}

function addCrawlFlags(command: Command): Command {
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
    .option('--no-progress', 'do not show live progress');
}

export function buildProgram(): Command {
  const program = new Command('trawl')
    .description('A concurrent web-scraping framework: crawl with spider modules')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  addCrawlFlags(
    program
      .command('crawl')
      .description('run a spider module')
      .argument('<spider-module>', 'path to a spider module (.ts, .mts, .js, .mjs)')
      .option('--start <url>', 'start URL, replaces the spider start URLs (repeatable)', collect)
      .option('--start-file <file>', 'start URLs, one a line, or JSONL records with url (a failures file)')
      .option(
        '-o, --output <uri>',
        'output: items.jsonl, items.json, items.csv or - for stdout (repeatable)',
        collect,
      )
      .option('--job-dir <dir>', 'persist the frontier to resume after a stop or crash')
      .option('--redis <url>', 'share the frontier through Redis (distributed crawl)')
      .option('--crawl-id <name>', 'name of the distributed crawl in Redis'),
  ).action(async (spider: string, flags: CrawlFlags) => {
    if ((flags.redis === undefined) !== (flags.crawlId === undefined))
      throw new CommanderError(
        EXIT.usage,
        'trawl.distributed',
        'error: --redis and --crawl-id go together (a distributed crawl needs both)',
      );
    process.exitCode = await runCrawl({
      spider,
      ...(flags.start ? { start: flags.start } : {}),
      ...(flags.startFile ? { startFile: flags.startFile } : {}),
      outputs: flags.output ?? [],
      crawl: crawlOptions(flags),
      ...(flags.failures ? { failures: flags.failures } : {}),
      ...(flags.statsFile ? { statsFile: flags.statsFile } : {}),
      logLevel: flags.logLevel,
      progress: flags.progress,
    });
  });

  addCrawlFlags(
    program
      .command('demo')
      .description('serve the bundled demo book shop on 127.0.0.1 and crawl it with spiders/books.ts')
      .option('-o, --output <uri>', 'output URI (repeatable)', collect)
      .option('--books <n>', 'books in the demo shop', intArg(1), 1000)
      .option('--serve', 'only serve the demo shop until interrupted'),
  ).action(async (flags: CrawlFlags & { books: number; serve?: boolean }) => {
    const site = await startDemoSite({ books: flags.books });
    if (flags.serve) {
      process.stderr.write(`demo shop at ${site.url} (Ctrl-C to stop)\n`);
      await new Promise((resolve) => process.once('SIGINT', resolve));
      await site.close();
      return;
    }
    const spider = fileURLToPath(new URL('../../spiders/books.ts', import.meta.url));
    if (!existsSync(spider))
      throw new CommanderError(EXIT.fatal, 'trawl.demo', `error: example spider missing at ${spider}`);
    const outputs = flags.output ?? ['output/books.jsonl'];
    process.stderr.write(`demo shop with ${site.books.length} books at ${site.url}\n`);
    try {
      process.exitCode = await runCrawl({
        spider,
        start: [site.url],
        outputs,
        crawl: crawlOptions(flags),
        ...(flags.failures ? { failures: flags.failures } : {}),
        ...(flags.statsFile ? { statsFile: flags.statsFile } : {}),
        logLevel: flags.logLevel,
        progress: flags.progress,
      });
    } finally {
      await site.close();
    }
  });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
      )
        return EXIT.ok;
      if (error.code.startsWith('trawl.')) process.stderr.write(`${error.message}\n`);
      return error.code === 'trawl.demo' ? EXIT.fatal : EXIT.usage;
    }
    if (isUsageError(error)) {
      process.stderr.write(`trawl: ${(error as Error).message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`trawl: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.fatal;
  }
}

const invokedDirectly =
  process.argv[1] &&
  fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1]);
if (invokedDirectly) {
  const code = await main(process.argv);
  process.exitCode = code;
  // The crawl is over and its outputs are closed; a socket or file operation that still hangs
  // (a server that never answers, a pipe nobody reads) must not keep the process alive.
  setTimeout(() => process.exit(code), 500).unref();
}
