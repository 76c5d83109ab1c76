import type { Crawl, CrawlStats } from '../index.js';
import type { Terminal } from './terminal.js';

/** Pages per second over this window, so the rate shows the crawl now, not its average. */
const RATE_WINDOW_MS = 5_000;
const REDRAW_MS = 200;
const BAR_WIDTH = 20;

export interface ProgressLimits {
  maxPages?: number | undefined;
  maxItems?: number | undefined;
}

/** Pages per second over the last few seconds, from samples of the page counter. */
class RecentRate {
  private readonly samples: Array<[at: number, pages: number]> = [];

  sample(pages: number, at = performance.now()): number {
    this.samples.push([at, pages]);
    while (this.samples.length > 2 && at - this.samples[0]![0] > RATE_WINDOW_MS) this.samples.shift();
    const [firstAt, firstPages] = this.samples[0]!;
    const span = at - firstAt;
    return span > 0 ? ((pages - firstPages) * 1000) / span : 0;
  }
}

/** The live status line on a terminal, redrawn in place a few times a second. */
export class StatusLine {
  private timer: NodeJS.Timeout | undefined;
  private readonly rate = new RecentRate();
  private startedAt = performance.now();

  constructor(
    private readonly stats: CrawlStats,
    private readonly terminal: Terminal,
    private readonly limits: ProgressLimits,
  ) {}

  start(): void {
    this.startedAt = performance.now();
    this.draw();
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.terminal.clearStatus();
  }

  private draw(): void {
    const elapsedMs = performance.now() - this.startedAt;
    const rate = this.rate.sample(this.stats.pages);
    this.terminal.status(statusText(this.stats, { pagesPerSecond: rate, elapsedMs }, this.limits));
  }
}

/** `[████░░░░]  42%  pages 420 · items 380 · 85.3 pages/s · queued 120 · in flight 16 · ... · ETA 0:07` */
export function statusText(
  stats: CrawlStats,
  { pagesPerSecond, elapsedMs }: { pagesPerSecond: number; elapsedMs: number },
  limits: ProgressLimits,
): string {
  const g = stats.gauges;
  const parts = [
    `pages ${stats.pages}`,
    `items ${stats.items}`,
    `${pagesPerSecond.toFixed(1)} pages/s`,
    `queued ${g.queued}`,
    `in flight ${g.inFlight}`,
    `failed ${stats.failed}`,
    `retries ${stats.retries}`,
    clock(elapsedMs),
  ];
  const done = fraction(stats, limits);
  if (done === undefined) return parts.join(' · ');
  const filled = Math.round(done * BAR_WIDTH);
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(done * 100)).padStart(3)}%`;
  const eta = done > 0 && done < 1 ? ` · ETA ${clock((elapsedMs * (1 - done)) / done)}` : '';
  return `${bar}  ${parts.join(' · ')}${eta}`;
}

/** How far the crawl is toward the nearest of its page and item limits. */
function fraction(stats: CrawlStats, limits: ProgressLimits): number | undefined {
  const shares: number[] = [];
  if (limits.maxPages !== undefined && Number.isFinite(limits.maxPages))
    shares.push(stats.pages / limits.maxPages);
  if (limits.maxItems !== undefined && Number.isFinite(limits.maxItems))
    shares.push(stats.items / limits.maxItems);
  return shares.length ? Math.min(1, Math.max(...shares)) : undefined;
}

/** `1:05`, `12:00:07`. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Off a terminal (or with JSON logs): a `stats` log record every interval, as Scrapy's LogStats. */
export function reportStats(
  stats: CrawlStats,
  intervalMs: number,
  log: (fields: Record<string, unknown>, message: string) => void,
): () => void {
  const rate = new RecentRate();
  rate.sample(0);
  const timer = setInterval(() => {
    const g = stats.gauges;
    log(
      {
        pages: stats.pages,
        items: stats.items,
        pagesPerSecond: Math.round(rate.sample(stats.pages) * 10) / 10,
        queued: g.queued,
        inFlight: g.inFlight,
        failed: stats.failed,
        retries: stats.retries,
        elapsedMs: stats.elapsedMs,
      },
      'stats',
    );
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Response times per origin, for the summary's slowest hosts. Capped, as a crawl may see many hosts. */
export class HostTimes {
  private readonly hosts = new Map<string, { count: number; totalMs: number }>();

  constructor(job: Crawl, maxHosts = 10_000) {
    job.events.on('response', ({ url, elapsedMs }) => {
      let origin: string;
      try {
        origin = new URL(url).host;
      } catch {
        return;
      }
      const entry = this.hosts.get(origin);
      if (entry) {
        entry.count++;
        entry.totalMs += elapsedMs;
      } else if (this.hosts.size < maxHosts) this.hosts.set(origin, { count: 1, totalMs: elapsedMs });
    });
  }

  /** The hosts with the longest mean response time, slowest first. */
  slowest(n = 3): Array<{ host: string; meanMs: number; count: number }> {
    return [...this.hosts]
      .map(([host, { count, totalMs }]) => ({ host, meanMs: totalMs / count, count }))
      .sort((a, b) => b.meanMs - a.meanMs)
      .slice(0, n);
  }
}
