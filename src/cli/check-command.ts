import type { Command } from 'commander';
import { type CheckReport, checkSpider, type ContractOutcome } from '../index.js';

interface CheckFlags {
  record?: boolean;
  fromCache?: string;
  start?: string[];
  maxPages?: number;
  update?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a whole number of at least 1, got ${value}`);
  return n;
};

/**
 * `trawl check <spider>`: runs the spider's contracts against its recorded responses, offline;
 * with --record, against pages fetched now, kept only when the contracts hold.
 */
export function addCheckCommand(program: Command): void {
  program
    .command('check')
    .description("check a spider's contracts against its recorded responses (no network)")
    .argument('<spider-module>', 'path to a spider module that declares contracts')
    .option('--record', 'record new responses with a short crawl of the site, kept if the contracts hold')
    .option('--from-cache <uri>', 'record from the development HTTP cache (httpCache URI or directory)')
    .option('--start <url>', 'start URL of the recording crawl, e.g. the demo site (repeatable)', collect)
    .option('--max-pages <n>', 'pages the recording crawl may fetch (default 200)', positive)
    .option('--update', "accept the callbacks' current output on the recorded responses")
    .addHelpText(
      'after',
      "\nExamples:\n  trawl check spiders/books.ts                 # replay the recordings beside the spider\n  trawl check spiders/books.ts --record        # record the contracts' sample pages (the site must be up)\n  trawl check spiders/books.ts --update        # take today's output as the expected one",
    )
    .action(async (spider: string, flags: CheckFlags) => {
      const controller = new AbortController();
      const onSignal = () => controller.abort();
      process.once('SIGINT', onSignal);
      try {
        const report = await checkSpider(spider, {
          ...(flags.record ? { record: true } : {}),
          ...(flags.fromCache ? { fromCache: flags.fromCache } : {}),
          ...(flags.start ? { start: flags.start } : {}),
          ...(flags.maxPages ? { maxPages: flags.maxPages } : {}),
          ...(flags.update ? { update: true } : {}),
          signal: controller.signal,
        });
        process.stdout.write(formatReport(report));
        process.exitCode = report.ok ? 0 : 1;
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
}

const MARK: Record<ContractOutcome['status'], string> = { passed: 'ok', failed: 'FAIL', missing: 'MISSING' };

function formatReport(report: CheckReport): string {
  const count = report.outcomes.length;
  const lines = [`${report.spider}: ${count} contract${count === 1 ? '' : 's'}, recordings in ${report.dir}`];
  for (const o of report.outcomes) {
    const counts = o.status === 'missing' ? '' : ` (${o.items} items, ${o.requests} requests)`;
    const written = o.written ? ' [recorded]' : '';
    lines.push(`  ${MARK[o.status].padEnd(7)} ${o.callback}  ${o.url ?? ''}${counts}${written}`);
    for (const problem of o.problems) lines.push(`          ${problem}`);
    if (o.diff.length > 0)
      lines.push('          recorded output -> now:', ...o.diff.map((l) => `        ${l}`));
  }
  const failed = report.outcomes.filter((o) => o.status !== 'passed').length;
  lines.push(
    failed === 0 ? 'all contracts hold' : `${failed} of ${report.outcomes.length} contracts do not hold`,
  );
  return `${lines.join('\n')}\n`;
}
