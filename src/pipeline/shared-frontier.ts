/**
 * The frontier of a distributed crawl, in Redis, shared by every process that runs the crawl with
 * the same crawl id. Each process keeps its own local frontier for scheduling and takes work from
 * here in batches; Redis holds what must be agreed on:
 *
 *   <prefix>seen      SET of request fingerprints: a URL is queued once across all processes
 *   <prefix>queue     ZSET of request ids by priority, then order of arrival
 *   <prefix>requests  HASH id -> request JSON, for queued and leased requests
 *   <prefix>leases    ZSET of leased request ids by lease expiry (Redis clock, ms)
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
import type { CrawlRequest } from '../types.js';

export interface SharedFrontierOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Name of the crawl; processes with the same name share one frontier. */
  crawlId: string;
  /** How long a taken request stays leased without renewal. @default 15_000 */
  leaseMs?: number;
}

/** Lua: `now` in ms on Redis's clock, the one clock every process of the crawl shares. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Ordering: priority first (higher first), then arrival. */
const PRIORITY_SPAN = 2 ** 40;

// KEYS: seen, queue, requests, seq. ARGV: pairs of (fingerprint or '' for unfiltered, json, priority).
// Returns the ids of the requests that were new.
const ADD = `
local added = {}
for i = 1, #ARGV, 3 do
  local fp, json, priority = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if fp == '' or redis.call('SADD', KEYS[1], fp) == 1 then
    local seq = redis.call('INCR', KEYS[4])
    local id = tostring(seq)
    redis.call('HSET', KEYS[3], id, json)
    redis.call('ZADD', KEYS[2], -priority * ${PRIORITY_SPAN} + seq, id)
    added[#added + 1] = id
  end
end
return added
`;

// KEYS: queue, requests, leases. ARGV: count, leaseMs. Moves expired leases back to the queue
// first, then leases up to count requests. Returns id, json pairs.
const CLAIM = `
${NOW}
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  if redis.call('HEXISTS', KEYS[2], id) == 1 then redis.call('ZADD', KEYS[1], tonumber(id), id) end
end
local out = {}
local popped = redis.call('ZPOPMIN', KEYS[1], tonumber(ARGV[1]))
for i = 1, #popped, 2 do
  local id = popped[i]
  local json = redis.call('HGET', KEYS[2], id)
  if json then
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), id)
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

// KEYS: requests, leases. ARGV: ids... The requests are finished.
const DONE = `
for i = 1, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return 0
`;

// KEYS: queue, leases. ARGV: id, priority... Gives leased requests back to the queue.
const RELEASE = `
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('ZREM', KEYS[2], id) == 1 then
    redis.call('ZADD', KEYS[1], -tonumber(ARGV[i + 1]) * ${PRIORITY_SPAN} + tonumber(id), id)
  end
end
return 0
`;

// KEYS: host hash, slots zset. ARGV: slot id, concurrency, gapMs, slotMs.
// 0 = admitted (the slot is taken and the gap starts now, on Redis's clock); -1 = the host is at
// its concurrency; n > 0 = ms until the gap has passed.
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

type Client = ReturnType<typeof createClient<{}, {}, {}, 2, {}>>;

export class SharedFrontier {
  private readonly prefix: string;
  private readonly leaseMs: number;
  /**
   * Requests this process has leased and not yet reported done, by fingerprint (the local
   * frontier hands back equal requests, not the same objects; unfiltered repeats share one).
   */
  private readonly held = new Map<string, Array<{ id: string; priority: number }>>();
  private heldCount = 0;
  /** Host slots this process holds: slot id -> its key. */
  private readonly slots = new Map<string, string>();
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly shas = new Map<string, string>();
  private renewing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly client: Client,
    options: SharedFrontierOptions,
  ) {
    this.prefix = `trawl:${options.crawlId}:`;
    this.leaseMs = options.leaseMs ?? 15_000;
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
  async add(requests: CrawlRequest[]): Promise<number> {
    if (requests.length === 0) return 0;
    const args: string[] = [];
    for (const request of requests)
      args.push(request.dontFilter ? '' : request.fingerprint, encode(request), String(request.priority));
    const added = (await this.eval(ADD, ['seen', 'queue', 'requests', 'seq'], args)) as string[];
    return added.length;
  }

  /** Leases up to `count` requests, highest priority first. */
  async claim(count: number): Promise<CrawlRequest[]> {
    const reply = (await this.eval(
      CLAIM,
      ['queue', 'requests', 'leases'],
      [String(count), String(this.leaseMs)],
    )) as string[];
    const out: CrawlRequest[] = [];
    for (let i = 0; i < reply.length; i += 2) {
      const request = JSON.parse(reply[i + 1]!) as CrawlRequest;
      const ids = this.held.get(request.fingerprint);
      const lease = { id: reply[i]!, priority: request.priority };
      if (ids) ids.push(lease);
      else this.held.set(request.fingerprint, [lease]);
      this.heldCount++;
      out.push(request);
    }
    return out;
  }

  /** The requests are finished (fetched and their items handled, or failed for good). */
  async done(requests: CrawlRequest[]): Promise<void> {
    const ids: string[] = [];
    const taken = new Map<string, number>();
    for (const { fingerprint } of requests) {
      const index = taken.get(fingerprint) ?? 0;
      const lease = this.held.get(fingerprint)?.[index];
      if (!lease) continue;
      ids.push(lease.id);
      taken.set(fingerprint, index + 1);
    }
    if (ids.length === 0) return;
    await this.eval(DONE, ['requests', 'leases'], ids);
    for (const request of requests) this.forget(request.fingerprint);
  }

  /** Gives every held request back to the queue, e.g. when this process stops early. */
  async releaseAll(): Promise<void> {
    const args: string[] = [];
    for (const leases of this.held.values())
      for (const lease of leases) args.push(lease.id, String(lease.priority));
    if (args.length === 0) return;
    await this.eval(RELEASE, ['queue', 'leases'], args);
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
   * Takes a turn for `origin` across every process of the crawl: at most `concurrency` requests
   * holding a slot and `gapMs` between two admissions, on Redis's clock. Returns 0 and the slot's
   * release when admitted, else how long to wait (-1: until a slot frees). A slot is renewed with
   * the leases, so a process that dies frees its slots within `leaseMs`.
   */
  async gate(
    origin: string,
    concurrency: number,
    gapMs: number,
  ): Promise<{ waitMs: number; release?: () => Promise<void> }> {
    const slot = randomUUID();
    const keys = [`host:${origin}`, `slots:${origin}`];
    const args = [slot, String(concurrency), String(Math.ceil(gapMs)), String(this.leaseMs)];
    const wait = Number(await this.eval(GATE, keys, args));
    if (wait !== 0) return { waitMs: wait };
    const slotsKey = this.key(`slots:${origin}`);
    this.slots.set(slot, slotsKey);
    return {
      waitMs: 0,
      release: async () => {
        this.slots.delete(slot);
        await this.client.zRem(slotsKey, slot).catch(() => undefined);
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
    const ids = [...this.held.values()].flatMap((leases) => leases.map((lease) => lease.id));
    const args = [String(this.leaseMs), String(ids.length), ...ids];
    for (const [slot, key] of this.slots) args.push(key, slot);
    this.renewing = this.eval(RENEW, ['leases'], args).catch(() => undefined);
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

/** A request as stored: attempts start afresh in whichever process takes it. */
function encode(request: CrawlRequest): string {
  const { notBefore: _notBefore, ...record } = request;
  record.attempts = 0;
  return JSON.stringify(record);
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
