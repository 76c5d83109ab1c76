import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FrontierPolicy } from '../../src/pipeline/admission.js';
import { DistributedStore } from '../../src/pipeline/distributed-store.js';
import { Frontier } from '../../src/pipeline/frontier.js';
import type { FrontierStore, HostGate } from '../../src/pipeline/frontier-store.js';
import { JobDir } from '../../src/pipeline/job-dir.js';
import { JobDirStore } from '../../src/pipeline/job-dir-store.js';
import { rankedBefore, rankScore } from '../../src/pipeline/ordering.js';
import { decodeRequest, encodeRequest } from '../../src/pipeline/request-codec.js';
import { deleteSharedCrawl } from '../../src/pipeline/crawl-status.js';
import { SharedFrontier } from '../../src/pipeline/shared-frontier.js';
import type { CrawlRequest, RequestInit } from '../../src/types.js';

const REDIS_URL = process.env.REDIS_URL;
const policy: FrontierPolicy = { maxDepth: 2, allowedHosts: new Set(['a.example']) };
const open: HostGate = { waitMs: () => 0 };

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A store over some state; `again` opens another store on the same state, as the next run would. */
interface Opened {
  store: FrontierStore;
  again?: () => Promise<FrontierStore>;
}

async function memory(): Promise<Opened> {
  return { store: new Frontier(policy) };
}

async function jobDir(): Promise<Opened> {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-store-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const make = () => new JobDirStore(new Frontier(policy), new JobDir(dir));
  return { store: make(), again: async () => make() };
}

async function redis(): Promise<Opened> {
  const crawlId = `store-${process.pid}-${Math.random().toString(36).slice(2)}`;
  cleanups.push(() => deleteSharedCrawl(REDIS_URL!, crawlId));
  const make = async (leaseMs?: number) => {
    const shared = await SharedFrontier.connect({
      url: REDIS_URL!,
      crawlId,
      ...(leaseMs ? { leaseMs } : {}),
    });
    return new DistributedStore(shared, policy, REDIS_URL!);
  };
  return { store: await make(), again: () => make() };
}

const backends: Array<[string, () => Promise<Opened>]> = [
  ['in memory', memory],
  ['in a job directory', jobDir],
  ...(REDIS_URL ? ([['in Redis', redis]] as Array<[string, () => Promise<Opened>]>) : []),
];

async function ready(store: FrontierStore): Promise<FrontierStore> {
  await store.restore();
  cleanups.push(() => store.close().catch(() => undefined));
  return store;
}

/** Every request the store hands out now, in order; one at a time, so a shared store's own order shows. */
async function takeAll(store: FrontierStore): Promise<CrawlRequest[]> {
  const out: CrawlRequest[] = [];
  for (;;) {
    await store.claim(1);
    const pick = store.take(open);
    if (!pick || 'waitMs' in pick) return out;
    out.push(pick.request);
  }
}

const paths = (requests: CrawlRequest[]) => requests.map((r) => new URL(r.url).pathname);
const at = (path: string, extra: Partial<RequestInit> = {}): RequestInit => ({
  url: `http://a.example${path}`,
  ...extra,
});

describe.each(backends)('a frontier store %s', (_, openStore) => {
  it('queues what passes the filters once, and says why the rest was dropped', async () => {
    const store = await ready((await openStore()).store);
    await store.add([at('/')]);
    const [root] = await takeAll(store);
    const added = await store.add(
      [
        at('/1'),
        at('/1'),
        at('/1#top'),
        at('/1', { dontFilter: true }),
        { url: 'http://b.example/' },
        { url: 'mailto:x@a.example' },
        at('/a/b/a/b/a/b/a/'),
        at('/'),
      ],
      root,
    );
    expect(added).toEqual({
      queued: 2,
      dropped: { duplicate: 3, depth: 0, offsite: 1, invalid: 1, trap: 1 },
    });
    const [child] = await takeAll(store);
    expect(child).toMatchObject({ depth: 1, referrer: 'http://a.example/' });
    expect(await store.add([at('/2')], child)).toMatchObject({ queued: 1 });
    expect(await store.add([at('/3')], { ...child!, depth: 2 })).toMatchObject({ dropped: { depth: 1 } });
  });

  it('serves higher priority first, FIFO among equals, and slow retries after everything fresh', async () => {
    const store = await ready((await openStore()).store);
    await store.add([at('/1'), at('/2', { priority: 5 }), at('/3'), at('/4', { priority: 5 })]);
    const [first, ...rest] = await takeAll(store);
    expect(paths([first!, ...rest])).toEqual(['/2', '/4', '/1', '/3']);
    // The highest-priority request timed out: its retry waits behind the fresh ones.
    first!.attempts = 1;
    first!.slow = true;
    store.requeue(first!);
    for (const request of rest) store.requeue(request);
    await store.add([at('/5')]);
    // All of it within reach of take(), as when a scheduler has room for it.
    await store.claim(10);
    expect(paths(await takeAll(store))).toEqual(['/4', '/1', '/3', '/5', '/2']);
  });

  it('keeps a retry back until its backoff has passed', async () => {
    const store = await ready((await openStore()).store);
    await store.add([at('/1'), at('/2')]);
    const [one, two] = await takeAll(store);
    one!.attempts = 1;
    one!.notBefore = Date.now() + 60_000;
    store.requeue(one!);
    store.requeue(two!);
    expect(store.pending).toBe(2);
    expect(paths(await takeAll(store))).toEqual(['/2']);
    const wait = store.take(open);
    expect(wait && 'waitMs' in wait && wait.waitMs).toBeGreaterThan(59_000);
  });
});

describe.each(backends.filter(([name]) => name !== 'in memory'))(
  'a frontier store %s, again',
  (_, openStore) => {
    it('gives the next run what was not done, in the same order, and nothing twice', async () => {
      const opened = await openStore();
      const store = await ready(opened.store);
      await store.add([at('/1'), at('/2', { priority: 5 }), at('/3'), at('/4', { priority: 5 })]);
      const [two, four] = await takeAll(store);
      await store.done([two!]);
      expect(four!.url).toBe('http://a.example/4');
      await store.close();

      const next = await ready(await opened.again!());
      expect(paths(await takeAll(next))).toEqual(['/4', '/1', '/3']);
      expect(await next.add([at('/2'), at('/4'), at('/5')])).toMatchObject({
        queued: 1,
        dropped: { duplicate: 2 },
      });
    });
  },
);

describe.skipIf(!REDIS_URL)('a frontier store in Redis, after a process died', () => {
  it('puts the requests whose lease ran out back in their place in the order', async () => {
    const crawlId = `store-died-${process.pid}-${Math.random().toString(36).slice(2)}`;
    cleanups.push(() => deleteSharedCrawl(REDIS_URL!, crawlId));
    const connect = (leaseMs: number) => SharedFrontier.connect({ url: REDIS_URL!, crawlId, leaseMs });
    const dying = await connect(150);
    const store = new DistributedStore(dying, policy, REDIS_URL!);
    await store.add([at('/1'), at('/2', { priority: 5 }), at('/3'), at('/4', { priority: 5 })]);
    expect(paths(await takeAll(store))).toEqual(['/2', '/4', '/1', '/3']);
    // As kill -9 would leave it: no renewal, no release.
    const internals = dying as unknown as { renewTimer: NodeJS.Timeout };
    clearInterval(internals.renewTimer);
    dying.link.client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));

    const survivor = await ready(new DistributedStore(await connect(15_000), policy, REDIS_URL!));
    expect(paths(await takeAll(survivor))).toEqual(['/2', '/4', '/1', '/3']);
  });
});

describe('one ordering rule', () => {
  const ranks: Array<[slow: boolean, priority: number, seq: number]> = [
    [false, 0, 1],
    [false, 5, 2],
    [true, 5, 3],
    [false, -3, 4],
    [true, -1, 5],
    [false, 5, 6],
    [false, 1024, 7],
    [false, -1024, 8],
    [true, 1024, 9],
    [false, 0.5, 10],
    [false, 0, 2 ** 39],
  ];
  it('as a sorted-set score sorts exactly as the comparison of the in-memory queue', () => {
    const byComparison = [...ranks].sort((a, b) =>
      rankedBefore(a[0], a[1], a[2], b[0], b[1], b[2]) ? -1 : 1,
    );
    const byScore = [...ranks].sort((a, b) => rankScore(a[0], a[1]) + a[2] - (rankScore(b[0], b[1]) + b[2]));
    expect(byScore).toEqual(byComparison);
    expect(byComparison.map((r) => r[2]).slice(0, 4)).toEqual([7, 2, 6, 10]);
  });
});

describe('one request codec', () => {
  it('keeps a request as the next process needs it: no backoff deadline, attempts afresh', () => {
    const request: CrawlRequest = {
      url: 'http://a.example/p',
      method: 'POST',
      body: 'q=1',
      headers: { 'x-a': '1' },
      callback: 'item',
      userData: { k: [1, 2] },
      priority: 3,
      depth: 2,
      dontFilter: true,
      acceptBinary: false,
      acceptStatus: [404],
      fingerprint: 'fp',
      referrer: 'http://a.example/',
      attempts: 2,
      notBefore: Date.now() + 1000,
    };
    const { notBefore: _, ...rest } = request;
    expect(decodeRequest(encodeRequest(request))).toEqual({ ...rest, attempts: 0 });
    expect(request.attempts).toBe(2);
  });

  it('reads nothing from a line cut short or a record that is not a request', () => {
    expect(decodeRequest('{"url":"http://a.example/","meth')).toBeUndefined();
    expect(decodeRequest('{"url":"http://a.example/"}')).toBeUndefined();
    expect(decodeRequest('null')).toBeUndefined();
  });
});
