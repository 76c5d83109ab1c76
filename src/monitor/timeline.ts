/**
 * The crawl over time, one sample a second: rates from the difference between two samples, and
 * the gauges as they were. Bounded: when the buffer is full every other sample is dropped and the
 * interval doubles, so a night-long crawl is still drawn end to end from at most `capacity` points.
 */
import type { CrawlStats } from '../pipeline/stats.js';

export interface TimelineSeries {
  /** Seconds since the epoch (what uPlot's time axis takes). */
  time: number[];
  pagesPerSecond: number[];
  itemsPerSecond: number[];
  failedPerSecond: number[];
  queued: number[];
  inFlight: number[];
  parseBacklog: number[];
}

interface Totals {
  at: number;
  pages: number;
  items: number;
  failed: number;
}

export class Timeline {
  private series: TimelineSeries = emptySeries();
  private last: Totals | undefined;
  private stride = 1;
  private tick = 0;

  constructor(private readonly capacity = 1800) {}

  sample(stats: CrawlStats, now = Date.now()): void {
    const totals = { at: now, pages: stats.pages, items: stats.items, failed: stats.failed };
    const last = this.last;
    // Every `stride`-th tick is kept; rates are over the whole span since the last kept one.
    if (last && ++this.tick % this.stride !== 0) return;
    this.last = totals;
    if (!last) return;
    const seconds = Math.max((now - last.at) / 1000, 0.001);
    const s = this.series;
    s.time.push(now / 1000);
    s.pagesPerSecond.push(round((totals.pages - last.pages) / seconds));
    s.itemsPerSecond.push(round((totals.items - last.items) / seconds));
    s.failedPerSecond.push(round((totals.failed - last.failed) / seconds));
    s.queued.push(stats.gauges.queued);
    s.inFlight.push(stats.gauges.inFlight);
    s.parseBacklog.push(stats.gauges.parseBacklog);
    if (s.time.length >= this.capacity) this.halve();
  }

  snapshot(): TimelineSeries {
    return this.series;
  }

  private halve(): void {
    const keep = <T>(values: T[]) => values.filter((_, i) => i % 2 === 1);
    const s = this.series;
    this.series = {
      time: keep(s.time),
      pagesPerSecond: keep(s.pagesPerSecond),
      itemsPerSecond: keep(s.itemsPerSecond),
      failedPerSecond: keep(s.failedPerSecond),
      queued: keep(s.queued),
      inFlight: keep(s.inFlight),
      parseBacklog: keep(s.parseBacklog),
    };
    this.stride *= 2;
  }
}

function emptySeries(): TimelineSeries {
  return {
    time: [],
    pagesPerSecond: [],
    itemsPerSecond: [],
    failedPerSecond: [],
    queued: [],
    inFlight: [],
    parseBacklog: [],
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
