import type { Command } from 'commander';
import { deleteSharedCrawl, sharedCrawlStatus } from '../index.js';

interface ResetFlags {
  redis: string;
  crawlId: string;
  force?: boolean;
}

/** `trawl reset`: deletes what a distributed crawl keeps in Redis, to run it again from the start. */
export function addResetCommand(program: Command): void {
  program
    .command('reset')
    .description('delete a distributed crawl from Redis (its queue, seen set, leases and counters)')
    .requiredOption('--redis <url>', 'the Redis of the crawl')
    .requiredOption('--crawl-id <name>', 'name of the distributed crawl')
    .option('--force', 'delete it even while processes are running it')
    .addHelpText(
      'after',
      '\nExample:\n  trawl reset --redis redis://127.0.0.1:6379 --crawl-id shop   # refused while its processes run',
    )
    .action(async (flags: ResetFlags) => {
      process.exitCode = await runReset(flags);
    });
}

async function runReset(flags: ResetFlags): Promise<number> {
  const status = await sharedCrawlStatus(flags.redis, flags.crawlId);
  const running = status.processes.filter((p) => p.alive).length;
  if (running > 0 && !flags.force) {
    process.stderr.write(
      `trawl: crawl ${flags.crawlId} is running (${running} process(es) with a recent heartbeat): stop them first, or pass --force\n`,
    );
    return 1;
  }
  const deleted = await deleteSharedCrawl(flags.redis, flags.crawlId);
  process.stderr.write(
    deleted > 0
      ? `deleted crawl ${flags.crawlId} (${deleted} keys)\n`
      : `crawl ${flags.crawlId} has nothing in Redis\n`,
  );
  return 0;
}
