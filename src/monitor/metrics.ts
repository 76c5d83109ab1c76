/**
 * The crawl as Prometheus metrics, on a registry of its own (two crawls in one program do not
 * share counters). Totals are read from the crawl's stats when scraped, so the hot path pays
 * nothing for them; only the response-time histogram and the sink timings are observed as they
 * happen. Host labels are bounded: the first `maxHostLabels` hosts get their own, the rest `other`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CrawlStats } from '../pipeline/stats.js';

/** Seconds; covers a loopback answer to a slow origin server. */
const RESPONSE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SINK_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];

export interface CrawlMetricsOptions {
  /** Labels put on every series, e.g. `{ process: 'worker-2' }` in a distributed crawl. */
  labels?: Record<string, string>;
  /** Node process metrics (CPU, memory, event loop lag) with the `trawl_` prefix. @default true */
  processMetrics?: boolean;
}

export class CrawlMetrics {
  readonly registry = new Registry();
  private readonly responseSeconds: Histogram<'host'>;
  private readonly sinkSeconds: Histogram<'sink'>;

  constructor(stats: CrawlStats, options: CrawlMetricsOptions = {}) {
    const registers = [this.registry];
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'trawl_' });
    this.responseSeconds = new Histogram({
      name: 'trawl_response_seconds',
      help: 'Time from request start to the full body, per host (bounded label set; the rest as "other")',
      labelNames: ['host'],
      buckets: RESPONSE_BUCKETS,
      registers,
    });
    this.sinkSeconds = new Histogram({
      name: 'trawl_sink_write_seconds',
      help: 'Time one batch took to be written to a sink',
      labelNames: ['sink'],
      buckets: SINK_BUCKETS,
      registers,
    });
    totalsFromStats(stats, registers);
  }

  observeResponse(hostLabel: string, elapsedMs: number): void {
    this.responseSeconds.observe({ host: hostLabel }, elapsedMs / 1000);
  }

  observeSinkWrite(sink: string, elapsedMs: number): void {
    this.sinkSeconds.observe({ sink }, elapsedMs / 1000);
  }

  /** The exposition text (Prometheus 0.0.4 format). */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Counters and gauges whose value is read from the stats at scrape time. */
function totalsFromStats(stats: CrawlStats, registers: Registry[]): void {
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  counter('trawl_requests_total', 'Fetch attempts started, retries included', () => stats.requests);
  counter('trawl_pages_total', 'Pages whose callback ran', () => stats.pages);
  counter('trawl_items_total', 'Items produced', () => stats.items);
  counter('trawl_retries_total', 'Retries scheduled', () => stats.retries);
  counter('trawl_failed_total', 'Requests that ended as failed', () => stats.failed);
  counter('trawl_received_bytes_total', 'Bytes received on the wire', () => stats.bytes);
  counter('trawl_not_modified_total', 'Revisited pages that had not changed', () => stats.notModified);
  labelled(registers, 'trawl_responses_total', 'HTTP responses by status class', 'class', () =>
    Object.entries(stats.responses),
  );
  labelled(registers, 'trawl_errors_total', 'Failed attempts and requests by error code', 'code', () =>
    Object.entries(stats.errors),
  );
  labelled(registers, 'trawl_dropped_total', 'Links and requests not fetched, by reason', 'reason', () =>
    Object.entries(stats.dropped),
  );
  labelled(registers, 'trawl_sink_items_total', 'Items each output holds (its writes resolved)', 'sink', () =>
    stats.sinks.map((s) => [s.label, s.items]),
  );
  labelled(
    registers,
    'trawl_sink_failures_total',
    'Sink writes that threw (each failed retry counts)',
    'sink',
    () => stats.sinks.map((s) => [s.label, s.failures]),
  );
  labelled(
    registers,
    'trawl_sink_fallback_items_total',
    'Items written to a fallback file because their output failed for good',
    'sink',
    () => stats.sinks.map((s) => [s.label, s.fallbackItems]),
  );
  gauge('trawl_queue_depth', 'Requests waiting in the frontier', () => stats.gauges.queued);
  gauge('trawl_in_flight', 'Fetches in flight', () => stats.gauges.inFlight);
  gauge('trawl_parse_backlog', 'Fetched pages waiting for a parser', () => stats.gauges.parseBacklog);
  gauge('trawl_item_backlog', 'Items waiting for the sinks', () => stats.gauges.itemBacklog);
  gauge('trawl_elapsed_seconds', 'Time since the crawl started', () => stats.elapsedMs / 1000);
}

function labelled(
  registers: Registry[],
  name: string,
  help: string,
  label: string,
  read: () => Array<[string, number]>,
) {
  return new Counter({
    name,
    help,
    labelNames: [label],
    registers,
    collect() {
      this.reset();
      for (const [value, n] of read()) this.inc({ [label]: value }, n);
    },
  });
}
