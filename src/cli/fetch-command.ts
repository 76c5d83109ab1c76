import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { FetchedPage } from '../index.js';
import { EXIT } from './exit.js';
import { addOnePageFlags, onePage, type OnePageFlags } from './one-page.js';

const ERROR_STATUSES = JSON.stringify(Array.from({ length: 200 }, (_, i) => 400 + i));

interface FetchFlags extends OnePageFlags {
  headers?: boolean;
  output?: string;
}

/** `trawl fetch <url>`: one page through the crawl's fetch policy, as `scrapy fetch`. */
export function addFetchCommand(program: Command): void {
  addOnePageFlags(
    program
      .command('fetch')
      .description(
        'fetch one URL as a crawl would (robots.txt, per-host limit, network guard, caps, charset)',
      )
      .argument('<url>', 'an http(s) URL')
      .option('--headers', 'print the status line and response headers instead of the body')
      .option('-o, --output <file>', 'save the raw body bytes to a file instead of printing the text')
      .option('--spider <module>', "fetch with this spider's settings"),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  trawl fetch https://example.com/ --headers\n  trawl fetch https://example.com/logo.png -o logo.png\n  trawl fetch https://example.com/ -s userAgent=mybot/1.0 -s obeyRobotsTxt=false',
    )
    .action(async (url: string, flags: FetchFlags) => {
      // An error page is shown too, as a browser would (exit 1); a redirect is still followed.
      const { fetch } = await onePage({
        ...flags,
        set: [`acceptStatus=${ERROR_STATUSES}`, ...(flags.set ?? [])],
      });
      const page = await fetch(url);
      process.stderr.write(`${describe(page)}\n`);
      if (flags.headers) process.stdout.write(headerBlock(page));
      else if (flags.output) await writeFile(flags.output, page.body);
      else process.stdout.write(page.text.endsWith('\n') ? page.text : `${page.text}\n`);
      process.exitCode = page.status >= 400 ? EXIT.fatal : EXIT.ok;
    });
}

function describe(page: FetchedPage): string {
  const hops = page.redirects.length
    ? `, ${page.redirects.length} redirect${page.redirects.length > 1 ? 's' : ''}`
    : '';
  return `${page.status} ${page.url} (${page.body.length} bytes, ${page.encoding}${hops}, ${Math.round(page.elapsedMs)} ms)`;
}

function headerBlock(page: FetchedPage): string {
  const lines = [`HTTP ${page.status}`, `URL ${page.url}`];
  for (const hop of page.redirects) lines.push(`Redirected-From ${hop}`);
  for (const [name, value] of Object.entries(page.headers))
    for (const one of value.split('\n')) lines.push(`${name}: ${one}`);
  return `${lines.join('\n')}\n`;
}
