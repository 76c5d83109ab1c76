import type { Command } from 'commander';
import { type Item, type ParsedPage, parsePage, type RequestInit, UsageError } from '../index.js';
import { EXIT } from './exit.js';
import { intArg } from './flags.js';
import { addOnePageFlags, type OnePage, onePage, type OnePageFlags } from './one-page.js';

interface ParseFlags extends OnePageFlags {
  spider: string;
  callback: string;
  depth: number;
  maxRequests: number;
}

/** `trawl parse <url> --spider <module>`: what a callback makes of a page, as `scrapy parse`. */
export function addParseCommand(program: Command): void {
  addOnePageFlags(
    program
      .command('parse')
      .description("run a spider's callback on one page and print its items and follow-up requests")
      .argument('<url>', 'the page to parse')
      .requiredOption('--spider <module>', 'the spider module whose callback runs')
      .option('--callback <name>', 'the callback to run on the page', 'parse')
      .option('--depth <n>', 'follow the requests this many levels deep (1 = this page only)', intArg(1), 1)
      .option('--max-requests <n>', 'requests followed per level when --depth > 1', intArg(1), 20),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  trawl parse http://127.0.0.1:8080/ --spider spiders/books.ts\n  trawl parse http://127.0.0.1:8080/ --spider spiders/books.ts --depth 2 --max-requests 3',
    )
    .action(async (url: string, flags: ParseFlags) => {
      const one = await onePage(flags);
      const spider = one.spider!;
      if (
        typeof spider[flags.callback] !== 'function' &&
        !(flags.callback === 'parse' && spider.rules?.length)
      )
        throw new UsageError(`--callback ${flags.callback}: spider ${spider.name} has no such callback`);
      let level: RequestInit[] = [{ url, callback: flags.callback }];
      let failed = 0;
      for (let depth = 1; depth <= flags.depth && level.length; depth++) {
        const next: RequestInit[] = [];
        const taken = level.slice(0, depth === 1 ? 1 : flags.maxRequests);
        const left = level.length - taken.length;
        if (flags.depth > 1)
          process.stdout.write(
            `${depth > 1 ? '\n' : ''}# level ${depth}: ${level.length} page(s)${left > 0 ? `, the first ${taken.length} parsed (--max-requests ${flags.maxRequests})` : ''}\n`,
          );
        for (const request of taken) {
          const parsed = await parseOne(one, request, depth - 1);
          if (parsed.error) failed++;
          next.push(...parsed.requests);
        }
        level = next;
      }
      process.exitCode = failed ? EXIT.fatal : EXIT.ok;
    });
}

/** Fetches one request, runs its callback, prints what came out. */
async function parseOne(one: OnePage, request: RequestInit, depth: number): Promise<ParsedPage> {
  const callback = request.callback ?? 'parse';
  const page = await one.fetch(request.url, request);
  const parsed = await parsePage(one.spider!, page, { callback, depth, userData: request.userData ?? {} });
  const out = process.stdout;
  out.write(`\n>>> ${callback}(${page.url})  status ${page.status}\n`);
  for (const log of parsed.logs) out.write(`  log ${log.level}: ${log.message}\n`);
  out.write(`items (${parsed.items.length})\n`);
  for (const item of parsed.items) out.write(`  ${show(item)}\n`);
  out.write(`requests (${parsed.requests.length})\n`);
  for (const r of parsed.requests) out.write(`  ${r.method ?? 'GET'} ${r.url} -> ${r.callback ?? 'parse'}\n`);
  if (parsed.error)
    process.stderr.write(
      `trawl: callback ${callback} failed: ${parsed.error.code}: ${parsed.error.message}\n`,
    );
  return parsed;
}

function show(item: Item): string {
  return JSON.stringify(item);
}
