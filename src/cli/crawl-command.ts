import { type Command, CommanderError } from 'commander';
import {
  addCrawlFlags,
  collect,
  type CrawlFlags,
  intArg,
  layeredCrawlOptions,
  logSetup,
  monitorOptions,
} from './flags.js';
import { EXIT } from './exit.js';
import { runCrawl } from './run-crawl.js';

/** `trawl crawl <spider-module>`: runs a spider module. */
export function addCrawlCommand(program: Command): void {
  addCrawlFlags(
    program
      .command('crawl')
      .description('run a spider module')
      .argument('<spider-module>', 'path to a spider module (.ts, .mts, .js, .mjs)')
      .option('--start <url>', 'start URL, replaces the spider start URLs (repeatable)', collect)
      .option('--start-file <file>', 'start URLs, one a line, or JSONL records with url (a failures file)')
      .option(
        '-o, --output <uri>',
        'output: items.jsonl, items.json, items.csv, items.parquet, - for stdout, or a sqlite://, redis:// or postgres:// URI (repeatable)',
        collect,
      )
      .option('--job-dir <dir>', 'persist the frontier to resume after a stop or crash')
      .option('--recrawl', 'revisit the pages the job directory has on record (conditional requests)')
      .option(
        '--recrawl-older-than <ms>',
        'revisit only pages last fetched at least this many milliseconds ago',
        intArg(0),
      )
      .option('--redis <url>', 'share the frontier through Redis (distributed crawl)')
      .option('--crawl-id <name>', 'name of the distributed crawl in Redis'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  trawl crawl spiders/books.ts -o books.jsonl\n  trawl crawl spiders/books.ts --start http://127.0.0.1:8080/ --max-pages 100 -s perHost.delayMs=250\n  trawl crawl spiders/books.ts --print-settings',
    )
    .action(async (spider: string, flags: CrawlFlags) => {
      if ((flags.redis === undefined) !== (flags.crawlId === undefined))
        throw new CommanderError(
          EXIT.usage,
          'trawl.distributed',
          '--redis and --crawl-id go together (a distributed crawl needs both)',
        );
      const options = await layeredCrawlOptions(spider, flags);
      if (!options) return;
      process.exitCode = await runCrawl({
        spider,
        ...(flags.start ? { start: flags.start } : {}),
        ...(flags.startFile ? { startFile: flags.startFile } : {}),
        outputs: flags.output ?? [],
        crawl: options,
        ...(flags.failures ? { failures: flags.failures } : {}),
        ...(flags.statsFile ? { statsFile: flags.statsFile } : {}),
        log: logSetup(flags),
        progress: flags.progress,
        statsIntervalMs: flags.statsInterval,
        monitor: monitorOptions(flags),
      });
    });
}
