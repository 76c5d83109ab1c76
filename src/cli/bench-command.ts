import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { crawl } from '../index.js';
import { intArg } from './flags.js';
import { StatusLine } from './progress.js';
import { Terminal } from './terminal.js';

interface BenchFlags {
  books: number;
  workers?: number;
  concurrency?: number;
  json?: boolean;
}

/**
 * `trawl bench`: crawls the demo shop served by a child process, so the CPU time measured is the
 * crawler's alone (parser threads included), as `scrapy bench` does against its own server.
 */
export function addBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('benchmark: crawl a local synthetic shop and print pages/s and CPU time per page')
    .option('--books <n>', 'detail pages in the shop (plus one listing page per 20)', intArg(1), 2000)
    .option('--workers <n>', 'parser threads (0 = the main thread)', intArg(0))
    .option('--concurrency <n>', 'fetches in flight', intArg(1), 32)
    .option('--json', 'print the result as one JSON line')
    .addHelpText('after', '\nExample:\n  trawl bench --books 5000 --workers 2')
    .action(async (flags: BenchFlags) => {
      const site = await serveShop(flags.books);
      try {
        const result = await measure(site.url, flags);
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(result)}\n`
            : `${result.pages} pages in ${result.seconds} s: ${result.pagesPerSecond} pages/s, ${result.cpuMsPerPage} ms CPU per page (${result.workers} parser threads, concurrency ${result.concurrency})\n`,
        );
      } finally {
        site.child.kill();
      }
    });
}

async function measure(url: string, flags: BenchFlags) {
  const spider = fileURLToPath(new URL('../../spiders/books.ts', import.meta.url));
  const job = crawl(spider, {
    start: [url],
    concurrency: flags.concurrency ?? 32,
    perHost: { concurrency: flags.concurrency ?? 32 },
    adaptiveThrottle: false,
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
  });
  const terminal = new Terminal();
  const line = new StatusLine(job.stats, terminal, {});
  const cpu = process.cpuUsage();
  const started = performance.now();
  if (terminal.tty) line.start();
  const stats = await job.pipeTo().finally(() => line.stop());
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
  return {
    pages: stats.pages,
    items: stats.items,
    seconds: round(seconds, 2),
    pagesPerSecond: round(stats.pages / seconds, 1),
    cpuMsPerPage: round((used.user + used.system) / 1000 / Math.max(1, stats.pages), 3),
    workers: flags.workers ?? 'default',
    concurrency: flags.concurrency ?? 32,
  };
}

/** `trawl demo --serve` in a child process; resolves once it listens. */
function serveShop(books: number): Promise<{ url: string; child: ChildProcess }> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'demo', '--serve', '--port', '0', '--books', String(books)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const url = /demo (?:site|shop) at (\S+)/.exec(text)?.[1];
      if (url) resolve({ url, child });
    });
    child.once('exit', (code) => reject(new Error(`the benchmark site exited (${code}): ${text.trim()}`)));
  });
}
