/**
 * The frontier of a distributed crawl, in Redis, shared by every process that runs the crawl with
 * the same crawl id. Each process keeps its own local frontier for scheduling and takes work from
 * here in batches; Redis holds what must be agreed on:
 *
 *   <prefix>seen      SET of request fingerprints: a URL is queued once across all processes
 *   <prefix>queue     ZSET of request ids, scored in the order of ordering.ts
 *   <prefix>requests  HASH id -> request JSON, for queued and leased requests
 *   <prefix>leases    ZSET of leased request ids by lease expiry (Redis clock, ms)
 *   <prefix>ranks     HASH leased id -> its queue score, to put it back in its place
 *   <prefix>seq       counter for arrival order
 *   <prefix>host:<origin>, <prefix>slots:<origin>   the per-host gate (see `gate`)
 *
 * A request taken by a process is leased, and the lease is renewed while the process works on it;
 * it leaves Redis only when that process reports it done (its items were handled). If the process
 * dies, the lease runs out and the request goes back to the queue for another process: delivery is
 * at least once, as with a job directory. The crawl is over when the queue is empty and no process
 * holds a lease.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { SharedFrontierError } from '../errors.js';
import { type ResolvedHostLimit, startGapMs } from '../fetcher/host-limits.js';
import { DISTRIBUTED_DEFAULTS } from '../options.js';
import type { CrawlRequest } from '../types.js';
import { rankScore } from './ordering.js';
import { decodeRequest, encodeRequest } from './request-codec.js';

export interface SharedFrontierOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Name of the crawl; processes with the same name share one frontier. */
  crawlId: string;
  /** How long a taken request stays leased without renewal. @default DISTRIBUTED_DEFAULTS.leaseMs (15 s) */
  leaseMs?: number;
  /** Source of randomness in [0, 1) for host jitter. @default Math.random */
  random?: () => number;
  /**
   * A lease renewal (or a slot release) failed: requests held here may be taken over by other
   * processes. The crawl goes on; the next renewal tries again.
   */
  onLeaseFailure?: (error: SharedFrontierError) => void;
}

/** Lua: `now` in ms on Redis's clock, the one clock every process of the crawl shares. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Lua: puts leased request `id` back in the queue (KEYS[1]) at its score, kept in ranks (KEYS[2]). */
const REQUEUE = `local function requeue(id)
  local score = redis.call('HGET', KEYS[2], id) or id
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZADD', KEYS[1], score, id)
end`;

// KEYS: seen, queue, requests, seq. ARGV: triples of (fingerprint or '' for unfiltered, json,
// score without the arrival). Returns the ids of the requests that were new.
const ADD = `
local added = {}
for i = 1, #ARGV, 3 do
  local fp, json, score = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if fp == '' or redis.call('SADD', KEYS[1], fp) == 1 then
    local seq = redis.call('INCR', KEYS[4])
    local id = tostring(seq)
    redis.call('HSET', KEYS[3], id, json)
    redis.call('ZADD', KEYS[2], score + seq, id)
    added[#added + 1] = id
  end
end
return added
`;

// KEYS: queue, ranks, requests, leases. ARGV: count, leaseMs. Moves expired leases back to the
// queue first, then leases up to count requests. Returns id, json pairs.
const CLAIM = `
${NOW}
${REQUEUE}
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[4], id)
  if redis.call('HEXISTS', KEYS[3], id) == 1 then requeue(id) end
end
local out = {}
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[1]))
for i = 1, #popped, 2 do
  local id = popped[i]
  local json = redis.call('HGET', KEYS[3], id)
  if json then
    redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[2], id, popped[i + 1])
    out[#out + 1] = id
    out[#out + 1] = json
  end
end
return out
`;

// KEYS: leases. ARGV: leaseMs, n, n lease ids, then (slots key, slot id) pairs. Extends the
// leases and host slots this process still holds.
const RENEW = `
${NOW}
local until_ = now + tonumber(ARGV[1])
local n = tonumber(ARGV[2])
for i = 3, 2 + n do redis.call('ZADD', KEYS[1], 'XX', until_, ARGV[i]) end
for i = 3 + n, #ARGV, 2 do redis.call('ZADD', ARGV[i], 'XX', until_, ARGV[i + 1]) end
return 0
`;

// KEYS: requests, leases, ranks. ARGV: ids... The requests are finished.
const DONE = `
for i = 1, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[3], ARGV[i])
end
return 0
`;

// KEYS: queue, ranks, leases. ARGV: ids... Gives leased requests back to the queue.
const RELEASE = `
${REQUEUE}
for i = 1, #ARGV do
  if redis.call('ZREM', KEYS[3], ARGV[i]) == 1 then requeue(ARGV[i]) end
end
return 0
`;

// KEYS: host hash, slots zset. ARGV: slot id, concurrency, gapMs, slotMs.
// 0 = admitted (the slot is taken and the gap starts now, on Redis's clock); -1 = the host is at
// its concurrency; n > 0 = ms until the gap has passed. The gap is `startGapMs`, as in HostLimits.
const GATE = `
${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return -1 end
local nextAt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
if now < nextAt then return nextAt - now end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
redis.call('HSET', KEYS[1], 'next', now + tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 60000)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]) + 60000)
return 0
`;

// The client's own type parameters (no modules, functions or scripts; RESP 2; no type mapping).
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
type Client = ReturnType<typeof createClient<{}, {}, {}, 2, {}>>;

export class SharedFrontier {
  private readonly prefix: string;
  private readonly leaseMs: number;
  private readonly random: () => number;
  /**
   * Requests this process has leased and not yet reported done, by fingerprint (the local
   * frontier hands back equal requests, not the same objects; unfiltered repeats share one).
   */
  private readonly held = new Map<string, string[]>();
  private heldCount = 0;
  /** Host slots this process holds: slot id -> its key. */
  private readonly slots = new Map<string, string>();
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly shas = new Map<string, string>();
  private renewing: Promise<unknown> = Promise.resolve();

  private readonly onLeaseFailure: ((error: SharedFrontierError) => void) | undefined;

  private constructor(
    private readonly client: Client,
    options: SharedFrontierOptions,
  ) {
    this.prefix = `trawl:${options.crawlId}:`;
    this.leaseMs = options.leaseMs ?? DISTRIBUTED_DEFAULTS.leaseMs;
    this.random = options.random ?? Math.random;
    this.onLeaseFailure = options.onLeaseFailure;
  }

  static async connect(options: SharedFrontierOptions): Promise<SharedFrontier> {
    const client = createClient({ url: options.url, socket: { reconnectStrategy: false } });
    // Without a listener an 'error' event would end the process; failures surface from commands.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      throw new SharedFrontierError(
        `cannot connect to Redis at ${options.url}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const frontier = new SharedFrontier(client, options);
    frontier.renewTimer = setInterval(() => frontier.renew(), Math.max(50, frontier.leaseMs / 3));
    frontier.renewTimer.unref();
    return frontier;
  }

  /** Queues requests no process has queued before (unfiltered ones always); returns how many were new. */
  async add(requests: readonly CrawlRequest[]): Promise<number> {
    if (requests.length === 0) return 0;
    const args: string[] = [];
    for (const request of requests)
      args.push(
        request.dontFilter ? '' : request.fingerprint,
        encodeRequest(request),
        String(rankScore(request.slow === true, request.priority)),
      );
    const added = (await this.eval(ADD, ['seen', 'queue', 'requests', 'seq'], args)) as string[];
    return added.length;
  }

  /** Leases up to `count` requests, first in the queue's order first. */
  async claim(count: number): Promise<CrawlRequest[]> {
    const reply = (await this.eval(
      CLAIM,
      ['queue', 'ranks', 'requests', 'leases'],
      [String(count), String(this.leaseMs)],
    )) as string[];
    const out: CrawlRequest[] = [];
    for (let i = 0; i < reply.length; i += 2) {
      const id = reply[i]!;
      const request = decodeRequest(reply[i + 1]!);
      if (!request) throw new SharedFrontierError(`request ${id} in Redis cannot be read`);
      const ids = this.held.get(request.fingerprint);
      if (ids) ids.push(id);
      else this.held.set(request.fingerprint, [id]);
      this.heldCount++;
      out.push(request);
    }
    return out;
  }

  /** The requests are finished (fetched and their items handled, or failed for good). */
  async done(requests: readonly CrawlRequest[]): Promise<void> {
    const ids: string[] = [];
    const taken = new Map<string, number>();
    for (const { fingerprint } of requests) {
      const index = taken.get(fingerprint) ?? 0;
      const id = this.held.get(fingerprint)?.[index];
      if (id === undefined) continue;
      ids.push(id);
      taken.set(fingerprint, index + 1);
    }
    if (ids.length === 0) return;
    await this.eval(DONE, ['requests', 'leases', 'ranks'], ids);
    for (const request of requests) this.forget(request.fingerprint);
  }

  /** Gives every held request back to the queue, e.g. when this process stops early. */
  async releaseAll(): Promise<void> {
    const ids = [...this.held.values()].flat();
    if (ids.length === 0) return;
    await this.eval(RELEASE, ['queue', 'ranks', 'leases'], ids);
    this.held.clear();
    this.heldCount = 0;
  }

  /**
   * True when the whole crawl has nothing left: the queue is empty and every lease is this
   * process's own (requests it finished whose items are still being handled).
   */
  async idle(): Promise<boolean> {
    const [queued, leased] = (await this.client
      .multi()
      .zCard(this.key('queue'))
      .zCard(this.key('leases'))
      .exec()) as unknown as [number, number];
    return queued === 0 && leased <= this.heldCount;
  }

  /**
   * Takes a turn for `origin` across every process of the crawl, by the rule of `HostLimits` on
   * Redis's clock: at most `limit.concurrency` requests holding a slot, and `startGapMs` between
   * two admissions. Returns 0 and the slot's release when admitted, else how long to wait
   * (Infinity: until a slot frees). A slot is renewed with the leases, so a process that dies
   * frees its slots within `leaseMs`.
   */
  async gate(
    origin: string,
    limit: ResolvedHostLimit,
  ): Promise<{ waitMs: number; release?: () => Promise<void> }> {
    const slot = randomUUID();
    const keys = [`host:${origin}`, `slots:${origin}`];
    const gapMs = startGapMs(limit.delayMs, limit.jitterMs, this.random);
    const args = [slot, String(limit.concurrency), String(Math.ceil(gapMs)), String(this.leaseMs)];
    const wait = Number(await this.eval(GATE, keys, args));
    if (wait < 0) return { waitMs: Number.POSITIVE_INFINITY };
    if (wait !== 0) return { waitMs: wait };
    const slotsKey = this.key(`slots:${origin}`);
    this.slots.set(slot, slotsKey);
    return {
      waitMs: 0,
      release: async () => {
        this.slots.delete(slot);
        await this.client
          .zRem(slotsKey, slot)
          .catch((error) => this.leaseFailed('a host slot release', error));
      },
    };
  }

  /** Stops renewing; requests still held are given back to the queue. */
  async close(): Promise<void> {
    clearInterval(this.renewTimer);
    await this.renewing;
    try {
      await this.releaseAll();
    } finally {
      await this.client.close().catch(() => this.client.destroy());
    }
  }

  private renew(): void {
    if (this.heldCount === 0 && this.slots.size === 0) return;
    const ids = [...this.held.values()].flat();
    const args = [String(this.leaseMs), String(ids.length), ...ids];
    for (const [slot, key] of this.slots) args.push(key, slot);
    this.renewing = this.eval(RENEW, ['leases'], args).catch((error) =>
      this.leaseFailed('a lease renewal', error),
    );
  }

  private leaseFailed(what: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.onLeaseFailure?.(new SharedFrontierError(`${what} failed: ${message}`, { cause: error }));
  }

  private forget(fingerprint: string): void {
    const leases = this.held.get(fingerprint);
    if (!leases) return;
    leases.shift();
    this.heldCount--;
    if (leases.length === 0) this.held.delete(fingerprint);
  }

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  /** Runs a script by its SHA (loaded once), so each call sends only keys and arguments. */
  private async eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys.map((k) => this.key(k)), ...args];
    let sha = this.shas.get(script);
    if (sha === undefined) {
      sha = String(await this.client.sendCommand(['SCRIPT', 'LOAD', script]));
      this.shas.set(script, sha);
    }
    try {
      return await this.client.sendCommand(['EVALSHA', sha, ...tail]);
    } catch (error) {
      // Redis restarted or its script cache was flushed: send the script itself.
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      this.shas.delete(script);
      return this.client.sendCommand(['EVAL', script, ...tail]);
    }
  }
}

async function withClient<T>(url: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client: Client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 5_000 } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

/**
 * Whether a distributed crawl has state in Redis, i.e. a process started on it joins or resumes
 * it. When Redis cannot be asked the answer is yes: appending to an output is the safe mistake.
 */
export async function sharedCrawlExists(url: string, crawlId: string): Promise<boolean> {
  try {
    return await withClient(url, async (client) => (await client.exists(`trawl:${crawlId}:seq`)) > 0);
  } catch {
    return true;
  }
}

/** Deletes everything a distributed crawl keeps in Redis, to run it again from the start. */
export async function deleteSharedCrawl(url: string, crawlId: string): Promise<number> {
  return withClient(url, async (client) => {
    let deleted = 0;
    for await (const keys of client.scanIterator({ MATCH: `trawl:${crawlId}:*`, COUNT: 500 }))
      if (keys.length > 0) deleted += await client.del(keys);
    return deleted;
  });
}
