import type { Command } from 'commander';
import { type SharedCrawlStatus, sharedCrawlStatus, UsageError } from '../index.js';

interface StatusFlags {
  redis: string;
  crawlId: string;
  watch?: string | true;
  json?: boolean;
}

const DEFAULT_WATCH_S = 2;
/** Hosts listed in the text view; --json has them all. */
const HOSTS_SHOWN = 20;

/** `trawl status`: how far a distributed crawl is, from any machine that reaches its Redis. */
export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show how far a distributed crawl is: queue, leases, done, rate, hosts, processes')
    .requiredOption('--redis <url>', 'the Redis of the crawl')
    .requiredOption('--crawl-id <name>', 'name of the distributed crawl')
    .option('--watch [seconds]', `refresh every few seconds (default ${DEFAULT_WATCH_S}) until interrupted`)
    .option('--json', 'print JSON: one object, or one line per refresh with --watch')
    .addHelpText(
      'after',
      '\nExamples:\n  trawl status --redis redis://127.0.0.1:6379 --crawl-id shop\n  trawl status --redis redis://127.0.0.1:6379 --crawl-id shop --watch 2\n  trawl status --redis redis://127.0.0.1:6379 --crawl-id shop --json',
    )
    .action(async (flags: StatusFlags) => {
      process.exitCode = await runStatus(flags);
    });
}

async function runStatus(flags: StatusFlags): Promise<number> {
  const first = await sharedCrawlStatus(flags.redis, flags.crawlId);
  if (!first.exists) {
    process.stderr.write(`trawl: no crawl ${flags.crawlId} in this Redis\n`);
    return 1;
  }
  if (flags.watch === undefined) {
    process.stdout.write(flags.json ? `${JSON.stringify(first, null, 2)}\n` : render(first, undefined));
    return 0;
  }
  const seconds = flags.watch === true ? DEFAULT_WATCH_S : Number(flags.watch);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`--watch takes a number of seconds > 0, got ${flags.watch}`);
  await watch(flags, first, seconds * 1000);
  return 0;
}

/** Redraws until SIGINT; the rate of the last interval is shown beside the average. */
async function watch(flags: StatusFlags, first: SharedCrawlStatus, everyMs: number): Promise<void> {
  // Set before the first line is printed, so a SIGINT after it always ends the watch cleanly.
  const interrupted = new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  const tty = Boolean(process.stdout.isTTY) && !flags.json;
  let previous: { status: SharedCrawlStatus; at: number } | undefined;
  let status = first;
  for (;;) {
    const at = performance.now();
    const recent = previous ? ((status.done - previous.status.done) * 1000) / (at - previous.at) : undefined;
    if (flags.json) process.stdout.write(`${JSON.stringify({ ...status, recentPagesPerSecond: recent })}\n`);
    else process.stdout.write(`${tty ? '\x1b[2J\x1b[H' : ''}${render(status, recent)}\n`);
    previous = { status, at };
    const stop = await Promise.race([
      interrupted.then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), everyMs)),
    ]);
    if (stop) return;
    status = await sharedCrawlStatus(flags.redis, flags.crawlId);
  }
}

function render(s: SharedCrawlStatus, recentPerSecond: number | undefined): string {
  const lines = [
    `crawl ${s.crawlId}: ${s.state}${s.startedAt ? `, started ${s.startedAt} (${duration(s.elapsedMs)})` : ''}`,
    `  queued ${n(s.queued)}  leased ${n(s.leased)}  done ${n(s.done)}  failed ${n(s.failed)}  items ${n(s.items)}`,
    `  rate ${s.pagesPerSecond.toFixed(1)} pages/s average${recentPerSecond === undefined ? '' : `, ${recentPerSecond.toFixed(1)} pages/s now`}`,
  ];
  if (s.hosts.length > 0) {
    lines.push(`hosts (${s.hosts.length} with work)             queued  in flight`);
    for (const h of s.hosts.slice(0, HOSTS_SHOWN))
      lines.push(`  ${h.origin.padEnd(34)} ${n(h.queued).padStart(7)}  ${n(h.inFlight).padStart(9)}`);
    if (s.hosts.length > HOSTS_SHOWN)
      lines.push(`  ... ${s.hosts.length - HOSTS_SHOWN} more (--json lists all)`);
  }
  if (s.processes.length > 0) {
    lines.push(
      'processes                              state        held  in flight    pages  last heartbeat',
    );
    for (const p of s.processes)
      lines.push(
        `  ${p.id.padEnd(36)} ${(p.alive || p.state !== 'running' ? p.state : 'lost').padEnd(11)} ${n(p.held).padStart(5)}  ${n(p.inFlight).padStart(9)}  ${n(p.pages).padStart(7)}  ${duration(p.heartbeatAgeMs)} ago`,
      );
  }
  return `${lines.join('\n')}\n`;
}

const n = (value: number) => value.toLocaleString('en-US');

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
