import type { SinkStats } from '../storage/sink-writer.js';

/**
 * Why the crawl ended: `finished` (nothing left), `maxDepth` (nothing left within the depth limit;
 * deeper links were dropped), `maxPages`, `maxItems`, `timeLimit`, `interrupted` (stopped by a
 * signal, in-flight work finished), `aborted` (cancelled), `error` (a fatal error).
 */
export type StopReason =
  'finished' | 'maxDepth' | 'maxPages' | 'maxItems' | 'timeLimit' | 'interrupted' | 'aborted' | 'error';

/** Counters, gauges and rates of one crawl. Plain data: `JSON.stringify` gives the stats file. */
export interface CrawlStats {
  startedAt: string;
  finishedAt: string | undefined;
  elapsedMs: number;
  stopReason: StopReason | undefined;
  /** Fetch attempts started, retries included. */
  requests: number;
  responses: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** Pages whose callback ran. */
  pages: number;
  items: number;
  retries: number;
  /** Requests that ended as failed. */
  failed: number;
  errors: Record<string, number>;
  /** Bytes received on the wire. */
  bytes: number;
  /**
   * Requests and links that did not become requests: `duplicate`, `depth`, `offsite`, `trap`
   * (frontier filters); `fragment` (`#top`: the same page), `scheme` (javascript:, mailto:, ...),
   * `empty` (no href) and `invalid` (an unparsable URL) for links given to follow()/followAll().
   */
  dropped: {
    duplicate: number;
    depth: number;
    offsite: number;
    invalid: number;
    trap: number;
    fragment: number;
    scheme: number;
    empty: number;
  };
  /** Requests restored from a job directory at start (revisits of a re-crawl included). */
  restored: number;
  /** Each output of `pipeTo`, in order: items written, failed writes, write times, fallback. */
  sinks: SinkStats[];
  /** Sink writes that threw, over all outputs (each failed retry counts). */
  sinkFailures: number;
  /**
   * Items that went to a fallback file because their output failed for good. Above 0 the crawl
   * did not finish cleanly (the CLI exits 1), though no item was lost.
   */
  fallbackItems: number;
  /** Revisited pages that had not changed (a 304, or the same body): not parsed, no items. */
  notModified: number;
  /**
   * Requests the crawl had begun and not ended when it stopped: in flight when the stop grace ran
   * out or the crawl was aborted, or their items not yet handled by the consumer. With a job
   * directory they are fetched again on resume. What is left in the frontier (never tried, or
   * waiting out a retry backoff) is `gauges.queued`.
   */
  unfinished: number;
  /** The caps on what may sit between stages; the gauges never exceed them. */
  bounds: { inFlight: number; parseBacklog: number; itemBacklog: number };
  gauges: {
    queued: number;
    inFlight: number;
    parseBacklog: number;
    itemBacklog: number;
    maxInFlight: number;
    maxParseBacklog: number;
    maxItemBacklog: number;
  };
  /** Same as `rates.pagesPerSecond`. */
  pagesPerSecond: number;
  /** Averages over the elapsed time. */
  rates: {
    requestsPerSecond: number;
    pagesPerSecond: number;
    itemsPerSecond: number;
    bytesPerSecond: number;
  };
}

export function newStats(): CrawlStats {
  return {
    startedAt: new Date().toISOString(),
    finishedAt: undefined,
    elapsedMs: 0,
    stopReason: undefined,
    requests: 0,
    responses: { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    pages: 0,
    items: 0,
    retries: 0,
    failed: 0,
    errors: {},
    bytes: 0,
    dropped: { duplicate: 0, depth: 0, offsite: 0, invalid: 0, trap: 0, fragment: 0, scheme: 0, empty: 0 },
    restored: 0,
    sinks: [],
    sinkFailures: 0,
    fallbackItems: 0,
    notModified: 0,
    unfinished: 0,
    bounds: { inFlight: 0, parseBacklog: 0, itemBacklog: 0 },
    gauges: {
      queued: 0,
      inFlight: 0,
      parseBacklog: 0,
      itemBacklog: 0,
      maxInFlight: 0,
      maxParseBacklog: 0,
      maxItemBacklog: 0,
    },
    pagesPerSecond: 0,
    rates: { requestsPerSecond: 0, pagesPerSecond: 0, itemsPerSecond: 0, bytesPerSecond: 0 },
  };
}

export function updateRates(stats: CrawlStats, elapsedMs: number): void {
  stats.elapsedMs = Math.round(elapsedMs);
  const per = (n: number) => (elapsedMs > 0 ? Math.round((n * 100_000) / elapsedMs) / 100 : 0);
  stats.rates = {
    requestsPerSecond: per(stats.requests),
    pagesPerSecond: per(stats.pages),
    itemsPerSecond: per(stats.items),
    bytesPerSecond: per(stats.bytes),
  };
  stats.pagesPerSecond = stats.rates.pagesPerSecond;
}

export function countStatus(stats: CrawlStats, status: number): void {
  const key = `${Math.min(5, Math.max(2, Math.floor(status / 100)))}xx` as keyof CrawlStats['responses'];
  stats.responses[key]++;
}

export function countError(stats: CrawlStats, code: string): void {
  stats.errors[code] = (stats.errors[code] ?? 0) + 1;
}
