/**
 * What a monitor knows of a crawl beyond its stats: response times per host, the timeline, the
 * last failures. Fed by the crawl's events; everything bounded.
 */
import type { HostSnapshot } from '../fetcher/host-limits.js';
import type { Crawl } from '../pipeline/crawl.js';
import type { CrawlStats } from '../pipeline/stats.js';
import { type HostLatency, LatencyTable } from './latency.js';
import type { CrawlMetrics } from './metrics.js';
import { Timeline, type TimelineSeries } from './timeline.js';

const RECENT_FAILURES = 50;
const SAMPLE_MS = 1000;

export interface RecentFailure {
  at: string;
  url: string;
  code: string;
  message: string;
  stage: string;
}

/** A host's limits and load (as `Crawl.hosts()` gives them) joined with its response times. */
export type HostRow = Omit<HostSnapshot, 'origin' | 'crawlDelayMs'> & Partial<HostLatency> & { host: string };

/** A host seen only in response times: nothing in flight, no limits remembered. */
const IDLE = {
  active: 0,
  concurrency: 0,
  delayMs: 0,
  configuredConcurrency: 0,
  configuredDelayMs: 0,
  throttled: false,
  waitMs: 0,
};

/** One JSON document: what the dashboard polls and what the report embeds. */
export interface MonitorState {
  title: string;
  updatedAt: string;
  finished: boolean;
  stats: CrawlStats;
  hosts: HostRow[];
  /** Hosts beyond those shown, counted only. */
  moreHosts: number;
  timeline: TimelineSeries;
  failures: RecentFailure[];
}

export class CrawlWatcher {
  private readonly latency: LatencyTable;
  private readonly timeline = new Timeline();
  private readonly failures: RecentFailure[] = [];
  private readonly timer: NodeJS.Timeout;
  private finished = false;
  private readonly detach: () => void;

  constructor(
    private readonly crawl: Crawl,
    private readonly title: string,
    maxHosts: number,
    metrics: CrawlMetrics | undefined,
  ) {
    this.latency = new LatencyTable(maxHosts);
    const onResponse = ({ url, elapsedMs }: { url: string; elapsedMs: number }) => {
      const label = this.latency.record(hostOf(url), elapsedMs);
      metrics?.observeResponse(label, elapsedMs);
    };
    const onFailure = (f: { url: string; error: { code: string; message: string }; stage: string }) => {
      this.failures.push({
        at: new Date().toISOString(),
        url: f.url,
        code: f.error.code,
        message: f.error.message,
        stage: f.stage,
      });
      if (this.failures.length > RECENT_FAILURES) this.failures.shift();
    };
    const onSink = (w: { sink: string; elapsedMs: number }) => metrics?.observeSinkWrite(w.sink, w.elapsedMs);
    const onFinished = () => this.end();
    crawl.events.on('response', onResponse);
    crawl.events.on('failure', onFailure);
    crawl.events.on('sinkWrite', onSink);
    crawl.events.on('finished', onFinished);
    this.detach = () => {
      crawl.events.off('response', onResponse);
      crawl.events.off('failure', onFailure);
      crawl.events.off('sinkWrite', onSink);
      crawl.events.off('finished', onFinished);
    };
    this.timeline.sample(crawl.stats);
    this.timer = setInterval(() => this.timeline.sample(crawl.stats), SAMPLE_MS);
    this.timer.unref();
  }

  /** The crawl has ended (finished, failed or stopped): the last sample is taken, sampling stops. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.timer);
    this.timeline.sample(this.crawl.stats);
    this.detach();
  }

  snapshot(maxHostRows = 50): MonitorState {
    const hosts = hostRows(this.crawl.hosts(), this.latency.table());
    return {
      title: this.title,
      updatedAt: new Date().toISOString(),
      finished: this.finished,
      stats: this.crawl.stats,
      hosts: hosts.slice(0, maxHostRows),
      moreHosts: Math.max(0, hosts.length - maxHostRows),
      timeline: this.timeline.snapshot(),
      failures: [...this.failures].reverse(),
    };
  }
}

/** Limits and load joined with response times, per host; hosts with only one of the two included. */
function hostRows(limits: HostSnapshot[], latency: HostLatency[]): HostRow[] {
  const rows = new Map<string, HostRow>();
  for (const { origin, crawlDelayMs: _crawlDelayMs, ...load } of limits) {
    const host = hostOf(origin);
    rows.set(host, { host, ...load });
  }
  for (const t of latency) {
    const row = rows.get(t.host);
    if (row) Object.assign(row, t);
    else rows.set(t.host, { ...IDLE, ...t });
  }
  return [...rows.values()].sort((a, b) => b.active - a.active || (b.responses ?? 0) - (a.responses ?? 0));
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
