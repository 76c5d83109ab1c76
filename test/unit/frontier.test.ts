import { describe, expect, it } from 'vitest';
import { Frontier, type HostGate } from '../../src/pipeline/frontier.js';
import type { CrawlRequest } from '../../src/types.js';

const open: HostGate = { waitMs: () => 0 };
const policy = { maxDepth: Number.POSITIVE_INFINITY, allowedHosts: undefined };

function drainUrls(frontier: Frontier, gate: HostGate = open, now = Date.now()): string[] {
  const out: string[] = [];
  for (;;) {
    const pick = frontier.take(gate, now);
    if (!pick || 'waitMs' in pick) return out;
    out.push(pick.request.url);
  }
}

describe('Frontier', () => {
  it('drops duplicates by canonical URL, method and body, unless dontFilter', () => {
    const f = new Frontier(policy);
    expect(typeof f.offer({ url: 'http://A.example/x?b=1&a=2#top' })).toBe('object');
    expect(f.offer({ url: 'http://a.example:80/x?a=2&b=1' })).toBe('duplicate');
    expect(typeof f.offer({ url: 'http://a.example/x?a=2&b=1', method: 'POST', body: 'q=1' })).toBe('object');
    expect(f.offer({ url: 'http://a.example/x?a=2&b=1', method: 'POST', body: 'q=1' })).toBe('duplicate');
    expect(typeof f.offer({ url: 'http://a.example/x?a=2&b=1', dontFilter: true })).toBe('object');
    expect(f.pending).toBe(3);
    expect(f.seenCount).toBe(2);
  });

  it('serves higher priority first and FIFO among equals', () => {
    const f = new Frontier(policy);
    f.offer({ url: 'http://a.example/1' });
    f.offer({ url: 'http://a.example/2', priority: 5 });
    f.offer({ url: 'http://a.example/3' });
    f.offer({ url: 'http://a.example/4', priority: 5 });
    expect(drainUrls(f)).toEqual(['/2', '/4', '/1', '/3'].map((p) => `http://a.example${p}`));
  });

  it('keeps the depth of followed links and drops those past maxDepth', () => {
    const f = new Frontier({ ...policy, maxDepth: 1 });
    const root = f.offer({ url: 'http://a.example/' }) as CrawlRequest;
    const child = f.offer({ url: 'http://a.example/c' }, root) as CrawlRequest;
    expect(child.depth).toBe(1);
    expect(child.referrer).toBe('http://a.example/');
    expect(f.offer({ url: 'http://a.example/gc' }, child)).toBe('depth');
  });

  it('keeps followed links on allowed hosts; start requests define them', () => {
    const f = new Frontier({ ...policy, allowedHosts: new Set(['a.example']) });
    const root = f.offer({ url: 'http://b.example/' }) as CrawlRequest;
    expect(f.offer({ url: 'http://c.example/' }, root)).toBe('offsite');
    expect(typeof f.offer({ url: 'http://a.example/x' }, root)).toBe('object');
    expect(f.offer({ url: 'mailto:x@a.example' }, root)).toBe('invalid');
  });

  it('drops followed links that look like a spider trap; a start URL is taken as given', () => {
    const f = new Frontier(policy);
    const deep = `http://a.example/${'x/'.repeat(40)}`;
    const root = f.offer({ url: deep }) as CrawlRequest;
    expect(typeof root).toBe('object');
    expect(f.offer({ url: 'http://a.example/a/b/a/b/a/b/a/' }, root)).toBe('trap');
    expect(f.offer({ url: `http://a.example/p?q=${'z'.repeat(2100)}` }, root)).toBe('trap');
    expect(
      f.offer({ url: `http://a.example/${'s/'.repeat(33)}`.replace(/s\//g, (_, i) => `s${i}/`) }, root),
    ).toBe('trap');
    expect(typeof f.offer({ url: 'http://a.example/a/b/a/b/a/b/' }, root)).toBe('object');
  });

  it('round-robins across hosts and skips a host without capacity', () => {
    const f = new Frontier(policy);
    for (const i of [1, 2, 3]) for (const h of ['a', 'b', 'c']) f.offer({ url: `http://${h}.example/${i}` });
    const busyB: HostGate = {
      waitMs: (origin) => (origin === 'http://b.example' ? Number.POSITIVE_INFINITY : 0),
    };
    const urls = drainUrls(f, busyB);
    expect(urls.slice(0, 4)).toEqual([
      'http://a.example/1',
      'http://c.example/1',
      'http://a.example/2',
      'http://c.example/2',
    ]);
    expect(urls.some((u) => u.startsWith('http://b.'))).toBe(false);
    expect(f.pending).toBe(3);
    expect(f.take(busyB)).toEqual({ waitMs: Number.POSITIVE_INFINITY });
  });

  it('does not let a retry waiting out its backoff block the other requests of its host', () => {
    const f = new Frontier(policy);
    const now = Date.now();
    const first = f.offer({ url: 'http://a.example/retry', priority: 10 }) as CrawlRequest;
    f.offer({ url: 'http://a.example/next' });
    const pick = f.take(open, now);
    expect(pick).toEqual({ request: first });
    first.attempts = 1;
    first.notBefore = now + 5_000;
    f.requeue(first);
    // Regression: the retried request used to sit at the head of its host queue and stall it.
    expect(drainUrls(f, open, now)).toEqual(['http://a.example/next']);
    const wait = f.take(open, now);
    expect(wait && 'waitMs' in wait && wait.waitMs).toBeGreaterThan(4_000);
    expect(drainUrls(f, open, now + 5_001)).toEqual(['http://a.example/retry']);
    expect(f.pending).toBe(0);
  });

  it('gives back requests with their options, and lists everything queued', () => {
    const f = new Frontier(policy);
    f.offer({ url: 'http://a.example/p', method: 'POST', body: 'x=1', userData: { k: 1 }, callback: 'item' });
    f.offer({ url: 'http://a.example/g' });
    expect([...f.drain()].map((r) => r.url).sort()).toEqual(['http://a.example/g', 'http://a.example/p']);
    const pick = f.take(open);
    expect(pick && 'request' in pick && pick.request).toMatchObject({
      method: 'POST',
      body: 'x=1',
      userData: { k: 1 },
      callback: 'item',
    });
  });

  it('restores seen keys so a resumed crawl still dedupes', () => {
    const a = new Frontier(policy);
    a.offer({ url: 'http://a.example/1' });
    const b = new Frontier(policy);
    for (const key of a.seenKeys()) b.markSeenKey(key);
    expect(b.offer({ url: 'http://a.example/1' })).toBe('duplicate');
    expect(typeof b.offer({ url: 'http://a.example/2' })).toBe('object');
  });

  it('dedupes 200,000 distinct URLs without a false duplicate', () => {
    const f = new Frontier(policy);
    let dup = 0;
    for (let i = 0; i < 200_000; i++)
      if (f.offer({ url: `http://h${i % 9}.example/p/${i}` }) === 'duplicate') dup++;
    expect(dup).toBe(0);
    expect(f.seenCount).toBe(200_000);
    expect(f.offer({ url: 'http://h5.example/p/77' })).toBe('duplicate');
  });
});
