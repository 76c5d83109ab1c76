import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { UsageError } from '../index.js';
import { spiderSource, type Template, TEMPLATES } from './templates.js';

interface NewFlags {
  template: Template;
  dir: string;
  force?: boolean;
}

/** `trawl new <name>`: a ready-to-run spider from a template, as `scrapy genspider` and `crawlee create`. */
export function addNewCommand(program: Command): void {
  program
    .command('new')
    .description('write a new spider module (TypeScript, defineSpider) from a template')
    .argument('<name>', 'spider name: letters, digits, - and _ (the file is spiders/<name>.ts)')
    .addOption(
      new Option('-t, --template <template>', 'what the spider starts as')
        .choices(TEMPLATES)
        .default('basic'),
    )
    .option('--dir <dir>', 'directory to write it in', 'spiders')
    .option('--force', 'overwrite a file that exists')
    .addHelpText(
      'after',
      `\nTemplates: basic (listing + detail pages), rules (link rules), sitemap, api (JSON), login (form login).\n\nExample:\n  trawl new shop --template rules\n  trawl demo --serve &\n  trawl crawl spiders/shop.ts -o shop.jsonl`,
    )
    .action(async (name: string, flags: NewFlags) => {
      if (!/^[A-Za-z][\w-]*$/.test(name))
        throw new UsageError(
          `spider name ${JSON.stringify(name)}: use letters, digits, - and _, starting with a letter`,
        );
      const file = join(flags.dir, `${name}.ts`);
      if (existsSync(file) && !flags.force)
        throw new UsageError(`${file} exists: pick another name, or --force to overwrite`);
      await mkdir(flags.dir, { recursive: true });
      await writeFile(file, spiderSource(flags.template, name));
      process.stdout.write(
        `wrote ${file} (template ${flags.template})\nrun it against the demo shop: trawl demo --serve, then trawl crawl ${file}\n`,
      );
    });
}
