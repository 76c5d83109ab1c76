import type { CrawlStats } from '../index.js';

/**
 * Live progress on stderr: one redrawn line on a terminal, a plain line every few seconds otherwise
 * (so CI logs and pipes still show the crawl moving).
 */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;

  constructor(
    private readonly stats: CrawlStats,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  start(): void {
    this.timer = setInterval(() => this.draw(), this.tty ? 250 : 3000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.tty) this.stream.write('\r\x1b[K');
  }

  private draw(): void {
    const s = this.stats;
    const g = s.gauges;
    const line = `pages ${s.pages}  items ${s.items}  failed ${s.failed}  retries ${s.retries}  queued ${g.queued}  in flight ${g.inFlight}  ${s.pagesPerSecond.toFixed(1)} pages/s`;
    if (this.tty) this.stream.write(`\r\x1b[K${line}`);
    else this.stream.write(`${line}\n`);
  }
}

/** The final stats table. */
export function summary(stats: CrawlStats, outputs: string[], context: { jobDir?: string } = {}): string {
  const seconds = stats.elapsedMs / 1000;
  const errors = Object.entries(stats.errors)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const rows: Array<[string, string]> = [
    ['stop reason', stats.stopReason ?? 'finished'],
    ['pages', String(stats.pages)],
    ['items', String(stats.items)],
    ['requests', String(stats.requests)],
    ['retries', String(stats.retries)],
    ['failed', String(stats.failed)],
    ...(stats.notModified ? ([['not modified', String(stats.notModified)]] as Array<[string, string]>) : []),
    ['errors', errors || 'none'],
    [
      'dropped',
      Object.entries(stats.dropped)
        .filter(([, n]) => n > 0)
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ') || 'none',
    ],
    [
      'responses',
      Object.entries(stats.responses)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ],
    ['bytes', String(stats.bytes)],
    ...unfinishedRows(stats, context.jobDir),
    ['time', `${seconds.toFixed(2)} s`],
    ['pages/s', stats.pagesPerSecond.toFixed(1)],
  ];
  if (outputs.length) rows.push(['output', outputs.join(', ')]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
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
