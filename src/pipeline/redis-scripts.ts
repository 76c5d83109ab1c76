/**
 * The Lua scripts of a distributed crawl. Each runs atomically in Redis, so what every process
 * must agree on (what is new, who holds what, how much of a limit is used) is decided in one
 * place. Each can be sent twice without harm (a reply lost to a dropped connection is sent
 * again): a second ADD finds its fingerprints seen, a second CLAIM leases more (the first lease
 * runs out), DONE and RELEASE of an id already gone do nothing. Key layout: shared-frontier.ts.
 */

/** Lua: `now` in ms on Redis's clock, the one clock every process of the crawl shares. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Lua: puts leased request `id` back in the queue (KEYS[1]) at its score, kept in ranks (KEYS[2]),
 * and counts it in its host's queue (KEYS[5]); an id is `<host number>:<arrival>`.
 */
const REQUEUE = `local function requeue(id)
  local score = redis.call('HGET', KEYS[2], id) or 0
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZADD', KEYS[1], score, id)
  redis.call('HINCRBY', KEYS[5], string.match(id, '^[^:]+'), 1)
end`;

// KEYS: seen bucket prefix, queue, requests, seq, host queue counts, hosts. ARGV: quadruples of
// (fingerprint or '' for unfiltered, json, score without the arrival, origin). The seen set is
// kept as fixed-size fingerprints in small hashes: 3 characters (18 bits) pick the hash, the next
// 8 (48 bits) are the field; small hashes stay in Redis's compact listpack encoding, about 10
// bytes a URL instead of 60-90 in a plain set. Returns the ids of the requests that were new.
export const ADD = `
local added = {}
for i = 1, #ARGV, 4 do
  local fp, json, score, origin = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  if fp == '' or redis.call('HSETNX', KEYS[1] .. string.sub(fp, 1, 3), string.sub(fp, 4, 11), '') == 1 then
    local host = redis.call('HGET', KEYS[6], origin)
    if not host then
      host = tostring(redis.call('HLEN', KEYS[6]) + 1)
      redis.call('HSET', KEYS[6], origin, host)
    end
    local seq = redis.call('INCR', KEYS[4])
    local id = host .. ':' .. seq
    redis.call('HSET', KEYS[3], id, json)
    redis.call('ZADD', KEYS[2], score + seq, id)
    redis.call('HINCRBY', KEYS[5], host, 1)
    added[#added + 1] = id
  end
end
return added
`;

// KEYS: queue, ranks, requests, leases, host queue counts, counters. ARGV: count, leaseMs,
// maxPages, maxItems (-1: none). Moves expired leases back to the queue first, then leases up to
// count requests within the crawl-wide page budget. Returns the limit reached ('' if none), then
// id, json pairs.
export const CLAIM = `
${NOW}
${REQUEUE}
local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[4], id)
  if redis.call('HEXISTS', KEYS[3], id) == 1 then requeue(id) end
end
local maxPages, maxItems = tonumber(ARGV[3]), tonumber(ARGV[4])
if maxItems >= 0 and tonumber(redis.call('HGET', KEYS[6], 'items') or '0') >= maxItems then
  return {'maxItems'}
end
local count = tonumber(ARGV[1])
if maxPages >= 0 then
  count = math.min(count, maxPages - tonumber(redis.call('HGET', KEYS[6], 'claimed') or '0'))
  if count <= 0 then return {'maxPages'} end
end
-- Second: the version of the shared cookie jar, so a process takes in new cookies before it fetches.
local out = {'', redis.call('HGET', KEYS[6], 'cookies') or '0'}
local popped = redis.call('ZPOPMIN', KEYS[1], count)
for i = 1, #popped, 2 do
  local id = popped[i]
  local json = redis.call('HGET', KEYS[3], id)
  redis.call('HINCRBY', KEYS[5], string.match(id, '^[^:]+'), -1)
  if json then
    redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[2], id, popped[i + 1])
    out[#out + 1] = id
    out[#out + 1] = json
  end
end
redis.call('HINCRBY', KEYS[6], 'claimed', (#out - 2) / 2)
return out
`;

// KEYS: leases. ARGV: leaseMs, n, n lease ids, then (key, member) pairs of host slots and locks
// held by this process. Extends them.
export const RENEW = `
${NOW}
local until_ = now + tonumber(ARGV[1])
local n = tonumber(ARGV[2])
for i = 3, 2 + n do redis.call('ZADD', KEYS[1], 'XX', until_, ARGV[i]) end
for i = 3 + n, #ARGV, 2 do redis.call('ZADD', ARGV[i], 'XX', until_, ARGV[i + 1]) end
return 0
`;

// KEYS: requests, leases, ranks, counters. ARGV: ids... The requests are finished.
export const DONE = `
local done = 0
for i = 1, #ARGV do
  done = done + redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[3], ARGV[i])
end
if done > 0 then redis.call('HINCRBY', KEYS[4], 'done', done) end
return done
`;

// KEYS: queue, ranks, leases, requests, host queue counts. ARGV: ids... Gives leased requests
// back to the queue.
export const RELEASE = `
${REQUEUE}
for i = 1, #ARGV do
  if redis.call('ZREM', KEYS[3], ARGV[i]) == 1 then requeue(ARGV[i]) end
end
return 0
`;

// KEYS: counters. ARGV: items found on a page, maxItems (-1: none). Returns how many of them the
// crawl-wide item limit lets through, and counts those.
export const GRANT_ITEMS = `
local wanted, max = tonumber(ARGV[1]), tonumber(ARGV[2])
local granted = wanted
if max >= 0 then
  granted = math.max(0, math.min(wanted, max - tonumber(redis.call('HGET', KEYS[1], 'items') or '0')))
end
if granted > 0 then redis.call('HINCRBY', KEYS[1], 'items', granted) end
return granted
`;

// KEYS: host hash, slots zset, shared throttle hash. ARGV: slot id, concurrency, gapMs, slotMs.
// 0 = admitted (the slot is taken and the gap starts now, on Redis's clock); -1 = the host is at
// its concurrency; n > 0 = ms until the gap has passed. The gap is `startGapMs`, as in HostLimits;
// a throttle another process published (after a 429) narrows both, with the same delivery margin.
export const GATE = `
${NOW}
local concurrency, gap = tonumber(ARGV[2]), tonumber(ARGV[3])
local throttled = redis.call('HMGET', KEYS[3], 'c', 'g')
if throttled[1] then concurrency = math.min(concurrency, tonumber(throttled[1])) end
if throttled[2] and tonumber(throttled[2]) > gap then
  gap = math.ceil(tonumber(throttled[2]) + math.min(5, tonumber(throttled[2]) * 0.1))
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= concurrency then return -1 end
local nextAt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
if now < nextAt then return nextAt - now end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
redis.call('HSET', KEYS[1], 'next', now + gap)
redis.call('PEXPIRE', KEYS[1], gap + 60000)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]) + 60000)
return 0
`;

// KEYS: host hash, shared throttle hash. ARGV: concurrency, gapMs, pauseMs, ttlMs. A process's
// adaptive throttle changed (or a Retry-After paused the host): every process follows it. The
// throttle is forgotten ttlMs after its last change, so one left by a process that died fades.
export const THROTTLE = `
${NOW}
redis.call('HSET', KEYS[2], 'c', ARGV[1], 'g', ARGV[2])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
local pause = tonumber(ARGV[3])
if pause > 0 then
  local nextAt = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
  redis.call('HSET', KEYS[1], 'next', math.max(nextAt, now + pause))
  redis.call('PEXPIRE', KEYS[1], pause + 60000)
end
return 0
`;

// KEYS: a lock key. ARGV: owner, ttlMs. Takes the lock if it is free (or already the owner's);
// returns 'mine', 'done' once the work it guards is finished, or 'busy'.
export const LOCK = `
local holder = redis.call('GET', KEYS[1])
if holder == 'done' then return 'done' end
if not holder or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 'mine'
end
return 'busy'
`;

// KEYS: processes, heartbeats, counters. ARGV: process id, its report (JSON). Returns Redis's
// clock, so every process can tell how long the crawl has run.
export const BEAT = `
${NOW}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], now)
redis.call('HSETNX', KEYS[3], 'startedAt', now)
return {now, tonumber(redis.call('HGET', KEYS[3], 'startedAt'))}
`;

// KEYS: cookies, counters. ARGV: (id, cookie JSON) pairs. Keeps cookies one process stored and
// moves the jar's version on, which every process's next claim sees.
export const PUT_COOKIES = `
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return redis.call('HINCRBY', KEYS[2], 'cookies', 1)
`;
