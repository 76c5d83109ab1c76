/**
 * Response times per host, for the dashboard's table: a bounded window of recent samples per host
 * and a bounded set of hosts (the first `maxHosts` seen get their own row, the rest share `other`),
 * so a crawl of a million hosts holds the same memory as one of twenty.
 */

const WINDOW = 256;

const OTHER_HOSTS = 'other';

export interface HostLatency {
  host: string;
  responses: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

interface Samples {
  ring: number[];
  next: number;
  responses: number;
  maxMs: number;
}

export class LatencyTable {
  private readonly hosts = new Map<string, Samples>();

  constructor(private readonly maxHosts: number) {}

  /** The label a host is counted under: itself while there is room, else `other`. */
  label(host: string): string {
    if (this.hosts.has(host)) return host;
    return this.hosts.size < this.maxHosts ? host : OTHER_HOSTS;
  }

  record(host: string, elapsedMs: number): string {
    const label = this.label(host);
    let samples = this.hosts.get(label);
    if (!samples) {
      samples = { ring: [], next: 0, responses: 0, maxMs: 0 };
      this.hosts.set(label, samples);
    }
    samples.ring[samples.next] = elapsedMs;
    samples.next = (samples.next + 1) % WINDOW;
    samples.responses++;
    samples.maxMs = Math.max(samples.maxMs, elapsedMs);
    return label;
  }

  /** Slowest first by p95 of the recent window. */
  table(): HostLatency[] {
    const rows: HostLatency[] = [];
    for (const [host, s] of this.hosts) {
      const sorted = [...s.ring].sort((a, b) => a - b);
      rows.push({
        host,
        responses: s.responses,
        p50Ms: quantile(sorted, 0.5),
        p95Ms: quantile(sorted, 0.95),
        maxMs: Math.round(s.maxMs),
      });
    }
    return rows.sort((a, b) => b.p95Ms - a.p95Ms);
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, index)]!);
}
