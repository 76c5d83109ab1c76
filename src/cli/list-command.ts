import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { importSpider, UsageError } from '../index.js';
import { EXIT } from './exit.js';

const MODULE = /\.(?:ts|mts|js|mjs)$/;

/** `trawl list [dir]`: the spiders in `spiders/` (or `dir`), as `scrapy list`. */
export function addListCommand(program: Command): void {
  program
    .command('list')
    .description('list the spiders in spiders/ (or DIR): name, file, start URLs')
    .argument('[dir]', 'directory of spider modules', 'spiders')
    .option('--json', 'one JSON line per spider')
    .addHelpText('after', '\nExamples:\n  trawl list\n  trawl list src/spiders --json')
    .action(async (dir: string, flags: { json?: boolean }) => {
      let names: string[];
      try {
        names = (await readdir(dir)).filter((n) => MODULE.test(n) && !n.endsWith('.d.ts')).sort();
      } catch {
        throw new UsageError(`cannot read directory ${dir}: no spiders there (trawl new NAME makes one)`);
      }
      const rows: Array<{ name: string; file: string; startUrls: string[] }> = [];
      let failed = 0;
      for (const name of names) {
        const file = join(dir, name);
        try {
          const spider = await importSpider(file);
          const starts = spider.startUrls?.length ? spider.startUrls : (spider.sitemapUrls ?? []);
          const startUrls = starts.map((s) => (typeof s === 'string' ? s : s.url));
          rows.push({ name: spider.name, file: relative(process.cwd(), file) || file, startUrls });
        } catch (error) {
          failed++;
          process.stderr.write(`trawl: ${file}: ${(error as Error).message}\n`);
        }
      }
      if (flags.json) for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
      else process.stdout.write(table(rows));
      process.exitCode = failed ? EXIT.fatal : EXIT.ok;
    });
}

function table(rows: Array<{ name: string; file: string; startUrls: string[] }>): string {
  if (!rows.length) return '';
  const name = Math.max(4, ...rows.map((r) => r.name.length));
  const file = Math.max(4, ...rows.map((r) => r.file.length));
  const lines = [`${'NAME'.padEnd(name)}  ${'FILE'.padEnd(file)}  START URLS`];
  for (const r of rows)
    lines.push(`${r.name.padEnd(name)}  ${r.file.padEnd(file)}  ${r.startUrls.join(' ') || '(start())'}`);
  return `${lines.join('\n')}\n`;
}
