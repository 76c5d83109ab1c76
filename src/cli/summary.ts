import type { CrawlStats } from '../index.js';
import { clock } from './progress.js';

export interface SummaryContext {
  outputs: string[];
  jobDir?: string | undefined;
  slowestHosts?: Array<{ host: string; meanMs: number; count: number }>;
}

/** The final stats table. */
export function summary(stats: CrawlStats, context: SummaryContext): string {
  const seconds = stats.elapsedMs / 1000;
  const rows: Array<[string, string]> = [
    ['stop reason', stats.stopReason ?? 'finished'],
    ['pages', String(stats.pages)],
    ['items', String(stats.items)],
    ['requests', String(stats.requests)],
    ['retries', String(stats.retries)],
    ['failed', String(stats.failed)],
    ...(stats.notModified ? ([['not modified', String(stats.notModified)]] as Array<[string, string]>) : []),
    ['top errors', topErrors(stats.errors)],
    ['dropped', nonZero(stats.dropped)],
    ['responses', nonZero(stats.responses)],
    ['bytes', bytes(stats.bytes)],
    ...unfinishedRows(stats, context.jobDir),
    ['slowest hosts', slowest(context.slowestHosts ?? [])],
    ['time', `${seconds.toFixed(2)} s (${clock(stats.elapsedMs)})`],
    ['pages/s', stats.pagesPerSecond.toFixed(1)],
  ];
  if (context.outputs.length) rows.push(['output', context.outputs.join(', ')]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

function topErrors(errors: Record<string, number>, n = 5): string {
  const sorted = Object.entries(errors).sort((a, b) => b[1] - a[1]);
  if (!sorted.length) return 'none';
  const shown = sorted.slice(0, n).map(([code, count]) => `${code} ${count}`);
  if (sorted.length > n) shown.push(`${sorted.length - n} more codes`);
  return shown.join(', ');
}

function nonZero(counts: Record<string, number>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([key, n]) => `${key} ${n}`)
      .join(', ') || 'none'
  );
}

function slowest(hosts: Array<{ host: string; meanMs: number; count: number }>): string {
  if (!hosts.length) return 'none';
  return hosts.map((h) => `${h.host} ${Math.round(h.meanMs)} ms mean over ${h.count}`).join(', ');
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** What a stopped crawl left: begun and not ended, and still in the frontier. */
function unfinishedRows(stats: CrawlStats, jobDir: string | undefined): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  const resume = jobDir ? `; run again with --job-dir ${jobDir} to resume` : '';
  if (stats.unfinished > 0)
    rows.push(['unfinished', `${stats.unfinished} in flight when the crawl stopped${resume}`]);
  if (stats.gauges.queued > 0 && stats.stopReason !== 'finished')
    rows.push(['left queued', `${stats.gauges.queued} not fetched (never tried, or waiting to retry)`]);
  return rows;
}
