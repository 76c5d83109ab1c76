import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, CommanderError } from 'commander';
import { DEMO_EXAMPLES, startDemoSite } from '../demo/site.js';
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

type DemoFlags = CrawlFlags & { books: number; serve?: boolean; port?: number };

/** `trawl demo`: serves the bundled demo book shop and crawls it with spiders/books.ts. */
export function addDemoCommand(program: Command): void {
  addCrawlFlags(
    program
      .command('demo')
      .description('serve the bundled demo book shop on 127.0.0.1 and crawl it with spiders/books.ts')
      .option('-o, --output <uri>', 'output URI (repeatable)', collect)
      .option('--books <n>', 'books in the demo shop', intArg(1), 1000)
      .option('--serve', 'only serve the demo shop until interrupted')
      .option(
        '--port <n>',
        'port to serve on (with --serve: 8080, the port the example spiders start at)',
        intArg(0),
      ),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  trawl demo\n  trawl demo --serve    # then: trawl crawl spiders/books.ts',
    )
    .action(runDemo);
}

async function runDemo(flags: DemoFlags): Promise<void> {
  const site = await startDemoSite({ books: flags.books, port: flags.port ?? (flags.serve ? 8080 : 0) });
  if (flags.serve) {
    process.stderr.write(`demo site at ${site.url} (Ctrl-C to stop)\n`);
    for (const { spider, path, shows } of DEMO_EXAMPLES) {
      // The examples ship with the package: shown relative to where the command runs.
      const file = relative(process.cwd(), fileURLToPath(new URL(`../../${spider}`, import.meta.url)));
      process.stderr.write(`  trawl crawl ${file} --start ${new URL(path, site.url).href}   (${shows})\n`);
    }
    await new Promise((resolve) => process.once('SIGINT', resolve));
    await site.close();
    return;
  }
  const spider = fileURLToPath(new URL('../../spiders/books.ts', import.meta.url));
  if (!existsSync(spider))
    throw new CommanderError(EXIT.fatal, 'trawl.demo', `example spider missing at ${spider}`);
  const options = await layeredCrawlOptions(spider, flags);
  if (!options) return site.close();
  const outputs = flags.output ?? ['output/books.jsonl'];
  process.stderr.write(`demo shop with ${site.books.length} books at ${site.url}\n`);
  try {
    process.exitCode = await runCrawl({
      spider,
      start: [site.url],
      outputs,
      crawl: options,
      ...(flags.failures ? { failures: flags.failures } : {}),
      ...(flags.statsFile ? { statsFile: flags.statsFile } : {}),
      log: logSetup(flags),
      progress: flags.progress,
      statsIntervalMs: flags.statsInterval,
      monitor: monitorOptions(flags),
    });
  } finally {
    await site.close();
  }
}
