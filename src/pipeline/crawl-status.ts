/**
 * What an operator asks of a distributed crawl from any machine that reaches its Redis: how far
 * it is (`sharedCrawlStatus`), whether it exists, and deleting it (`deleteSharedCrawl`). Read
 * only from Redis, so it works while the crawl runs, after it ended, or with no process left.
 */
import { OptionError } from '../errors.js';
import { type RedisClient, withClient } from './redis-link.js';
import type { StopReason } from './stats.js';

/** A process of the crawl as it last reported itself. */
export interface SharedCrawlProcess {
  /** `<hostname>:<pid>:<random>`. */
  id: string;
  /** `running`, or why it ended (`finished`, `maxPages`, `interrupted`, ...). */
  state: 'running' | StopReason;
  /** Heartbeat within the last 30 s while it says it is running. */
  alive: boolean;
  /** When it last wrote its report (ISO time, Redis's clock). */
  lastHeartbeat: string;
  heartbeatAgeMs: number;
  startedAt: string;
  /** Requests it holds a lease on. */
  held: number;
  inFlight: number;
  pages: number;
  items: number;
  failed: number;
}

export interface SharedCrawlHost {
  origin: string;
  queued: number;
  /** Requests holding one of the host's slots, across every process. */
  inFlight: number;
}

export interface SharedCrawlStatus {
  crawlId: string;
  /** Whether Redis has anything of this crawl id. */
  exists: boolean;
  /**
   * `running`: a process is at work; `finished`: nothing queued or leased; `stopped`: work is left
   * and no process runs it (stopped by a limit or a signal, or every process died).
   */
  state: 'running' | 'finished' | 'stopped';
  queued: number;
  leased: number;
  /** Requests done (fetched and their items handled, or failed for good). */
  done: number;
  /** Items delivered, crawl-wide. */
  items: number;
  /** Failed requests and pages parsed, summed over the processes' reports. */
  failed: number;
  pages: number;
  startedAt: string | undefined;
  /** From the first process's start to now (running) or to the last heartbeat. */
  elapsedMs: number;
  /** `done` over `elapsedMs`. */
  pagesPerSecond: number;
  hosts: SharedCrawlHost[];
  processes: SharedCrawlProcess[];
}

/** A process that says it runs but has not written a heartbeat for this long is taken for dead. */
const ALIVE_MS = 30_000;

/** The key names after `trawl:<crawlId>:` (see shared-frontier.ts); `a:b`'s keys are not `a`'s. */
const KEY_NAMES = new Set(
  'seen queue requests leases ranks seq hosts hostq counters procs beats seeding origins host slots throttle robots robots-lock cookies'.split(
    ' ',
  ),
);

/** How far a distributed crawl is, read from its Redis. */
export function sharedCrawlStatus(url: string, crawlId: string): Promise<SharedCrawlStatus> {
  checkTarget(url, crawlId);
  return withClient(url, (client) => readStatus(client, crawlId));
}

/** The same checks as the `distributed` option's, for the operator's functions. */
function checkTarget(url: string, crawlId: string): void {
  if (!/^rediss?:\/\/./.test(url)) throw new OptionError('redis', 'not a redis:// or rediss:// URL');
  if (!/^[\w.:-]{1,200}$/.test(crawlId))
    throw new OptionError('crawlId', 'a name of letters, digits, . _ : -', crawlId);
}

async function readStatus(client: RedisClient, crawlId: string): Promise<SharedCrawlStatus> {
  const key = (name: string) => `trawl:${crawlId}:${name}`;
  const [time, queued, leased, counters, seq, procs, beats, hosts, hostq] = await Promise.all([
    client.time(),
    client.zCard(key('queue')),
    client.zCard(key('leases')),
    client.hGetAll(key('counters')),
    client.exists(key('seq')),
    client.hGetAll(key('procs')),
    client.hGetAll(key('beats')),
    client.hGetAll(key('hosts')),
    client.hGetAll(key('hostq')),
  ]);
  const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const processes = Object.entries(procs).map(([id, json]) =>
    processOf(id, json, Number(beats[id] ?? 0), now),
  );
  const startedMs = counters.startedAt ? Number(counters.startedAt) : undefined;
  const running = processes.some((p) => p.alive);
  const lastBeat = Math.max(0, ...Object.values(beats).map(Number));
  const elapsedMs = startedMs === undefined ? 0 : Math.max(0, (running ? now : lastBeat) - startedMs);
  const done = Number(counters.done ?? 0);
  return {
    crawlId,
    exists: seq > 0 || processes.length > 0,
    state: running ? 'running' : queued + leased === 0 ? 'finished' : 'stopped',
    queued,
    leased,
    done,
    items: Number(counters.items ?? 0),
    failed: processes.reduce((sum, p) => sum + p.failed, 0),
    pages: processes.reduce((sum, p) => sum + p.pages, 0),
    startedAt: startedMs === undefined ? undefined : new Date(startedMs).toISOString(),
    elapsedMs,
    pagesPerSecond: elapsedMs > 0 ? Math.round((done * 100_000) / elapsedMs) / 100 : 0,
    hosts: await hostsOf(client, key, hosts, hostq, now),
    processes: processes.sort((a, b) => a.id.localeCompare(b.id)),
  };
}

function processOf(id: string, json: string, beatMs: number, now: number): SharedCrawlProcess {
  const r = JSON.parse(json) as Partial<SharedCrawlProcess>;
  const state = r.state ?? 'running';
  return {
    id,
    state,
    alive: state === 'running' && now - beatMs < ALIVE_MS,
    lastHeartbeat: new Date(beatMs).toISOString(),
    heartbeatAgeMs: Math.max(0, now - beatMs),
    startedAt: r.startedAt ?? '',
    held: r.held ?? 0,
    inFlight: r.inFlight ?? 0,
    pages: r.pages ?? 0,
    items: r.items ?? 0,
    failed: r.failed ?? 0,
  };
}

/** Hosts with requests queued or in flight, busiest first. */
async function hostsOf(
  client: RedisClient,
  key: (name: string) => string,
  hosts: Record<string, string>,
  hostq: Record<string, string>,
  now: number,
): Promise<SharedCrawlHost[]> {
  const origins = Object.entries(hosts);
  const inFlight = await Promise.all(
    origins.map(([origin]) => client.zCount(key(`slots:${origin}`), now, '+inf')),
  );
  return origins
    .map(([origin, n], i) => ({ origin, queued: Number(hostq[n] ?? 0), inFlight: inFlight[i]! }))
    .filter((h) => h.queued > 0 || h.inFlight > 0)
    .sort((a, b) => b.queued + b.inFlight - (a.queued + a.inFlight) || a.origin.localeCompare(b.origin));
}

/**
 * Whether a distributed crawl has state in Redis, i.e. a process started on it joins or resumes
 * it. Rejects with a `SharedFrontierError` naming the URL when Redis cannot be reached.
 */
export function sharedCrawlExists(url: string, crawlId: string): Promise<boolean> {
  checkTarget(url, crawlId);
  return withClient(url, async (client) => (await client.exists(`trawl:${crawlId}:seq`)) > 0);
}

/**
 * Deletes everything a distributed crawl keeps in Redis, to run it again from the start; resolves
 * with how many keys went. Walks the keys with SCAN, never KEYS, so Redis keeps serving others.
 */
export async function deleteSharedCrawl(url: string, crawlId: string): Promise<number> {
  checkTarget(url, crawlId);
  const prefix = `trawl:${crawlId}:`;
  return withClient(url, async (client) => {
    let deleted = 0;
    for await (const keys of client.scanIterator({ MATCH: `${escapeGlob(prefix)}*`, COUNT: 1000 })) {
      const own = keys.filter((k) => KEY_NAMES.has(k.slice(prefix.length).split(':')[0]!));
      if (own.length > 0) deleted += await client.unlink(own);
    }
    return deleted;
  });
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
