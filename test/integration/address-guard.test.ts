import type { LookupAddress } from 'node:dns';
import { afterEach, describe, expect, it } from 'vitest';
import {
  classifyAddress,
  type LookupFunction,
  startsOnPrivateNetwork,
} from '../../src/fetcher/address-guard.js';
import { crawl, defineSpider, type FailureRecord } from '../../src/index.js';
import { crawlRequest, testFetcher } from '../helpers/fetcher.js';
import { recordingServer } from '../helpers/recorder.js';

/**
 * DNS for made-up names. Every name used with a real connection maps to 127.x, so even a broken
 * guard could only ever reach loopback; public-looking answers are used only where nothing connects.
 */
function fakeDns(table: Record<string, string>): LookupFunction {
  return (hostname, options, callback) => {
    const address = table[hostname];
    if (!address)
      return callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '');
    const family = address.includes(':') ? 6 : 4;
    if (options.all) return callback(null, [{ address, family } satisfies LookupAddress]);
    callback(null, address, family);
  };
}

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const okServer = async (host: string) => {
  const server = await recordingServer(host, (_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>x</p>'),
  );
  closers.push(server.close);
  return server;
};

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.251', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fd12:3456::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2606:4700::1111', 'public'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:8.8.8.8', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });
});

describe('network guard', () => {
  it('refuses a hostname whose DNS answer is loopback, at connect time, before any byte is sent', async () => {
    const server = await okServer('127.0.0.1');
    const fetcher = testFetcher({
      allowPrivateNetwork: false,
      lookup: fakeDns({ 'shop.test': '127.0.0.1' }),
    });
    closers.push(() => fetcher.close());
    const port = new URL(server.origin).port;
    await expect(fetcher.fetch(crawlRequest(`http://shop.test:${port}/`))).rejects.toMatchObject({
      code: 'TRAWL_ERR_BLOCKED_ADDRESS',
      message: expect.stringContaining('127.0.0.1'),
    });
    expect(server.record.paths).toEqual([]);
  });

  it('refuses a literal private address', async () => {
    const server = await okServer('127.0.0.1');
    const fetcher = testFetcher({ allowPrivateNetwork: false });
    closers.push(() => fetcher.close());
    await expect(fetcher.fetch(crawlRequest(server.url))).rejects.toMatchObject({
      code: 'TRAWL_ERR_BLOCKED_ADDRESS',
    });
    expect(server.record.paths).toEqual([]);
  });

  it('checks every redirect hop, by literal address and by DNS answer', async () => {
    const inner = await okServer('127.0.0.2');
    const innerPort = new URL(inner.origin).port;
    const outer = await recordingServer('127.0.0.1', (req, res) => {
      const location =
        req.url === '/literal'
          ? `http://127.0.0.2:${innerPort}/secret`
          : `http://intranet.test:${innerPort}/secret`;
      res.writeHead(302, { location }).end();
    });
    closers.push(outer.close);
    const fetcher = testFetcher({
      allowPrivateNetwork: ['127.0.0.1'],
      lookup: fakeDns({ 'intranet.test': '127.0.0.2' }),
    });
    closers.push(() => fetcher.close());
    for (const path of ['/literal', '/dns']) {
      await expect(fetcher.fetch(crawlRequest(`${outer.origin}${path}`))).rejects.toMatchObject({
        code: 'TRAWL_ERR_BLOCKED_ADDRESS',
        message: expect.stringContaining('127.0.0.2'),
      });
    }
    expect(outer.record.paths).toEqual(['/literal', '/dns']);
    expect(inner.record.paths).toEqual([]);
  });

  it('lets through the addresses and ranges the user allows', async () => {
    const server = await okServer('127.0.0.3');
    const fetcher = testFetcher({ allowPrivateNetwork: ['127.0.0.0/8'] });
    closers.push(() => fetcher.close());
    expect((await fetcher.fetch(crawlRequest(server.url))).status).toBe(200);
  });
});

describe('the private-network default of a crawl', () => {
  it('is decided by where the start URLs resolve', async () => {
    const lookup = fakeDns({
      'www.example.test': '93.184.216.34',
      'dev.test': '127.0.0.1',
      'nas.test': '192.168.1.20',
    });
    expect(await startsOnPrivateNetwork(['http://www.example.test/'], lookup)).toBe(false);
    expect(await startsOnPrivateNetwork(['http://www.example.test/', 'http://dev.test/'], lookup)).toBe(true);
    expect(await startsOnPrivateNetwork(['http://nas.test/'], lookup)).toBe(true);
    expect(await startsOnPrivateNetwork(['http://10.0.0.8/'], lookup)).toBe(true);
    expect(await startsOnPrivateNetwork(['http://[::1]:8080/'], lookup)).toBe(true);
  });

  async function run(startUrls: string[], options: Parameters<typeof crawl>[1]) {
    const failures: FailureRecord[] = [];
    const items: unknown[] = [];
    const c = crawl(defineSpider({ name: 'guard', startUrls, parse: (page) => [{ url: page.url }] }), {
      workers: 0,
      obeyRobotsTxt: false,
      ...options,
    });
    c.events.on('failure', (f) => failures.push(f));
    for await (const item of c) items.push(item);
    return { items, failures };
  }

  it('allows a crawl whose start URL resolves to loopback', async () => {
    const server = await okServer('127.0.0.1');
    const { items } = await run([`http://shop.test:${new URL(server.origin).port}/`], {
      dnsLookup: fakeDns({ 'shop.test': '127.0.0.1' }),
    });
    expect(items).toHaveLength(1);
  });

  it('refuses, with the reason recorded, when the user says no', async () => {
    const server = await okServer('127.0.0.1');
    const { items, failures } = await run([server.url], { allowPrivateNetwork: false });
    expect(items).toHaveLength(0);
    expect(failures[0]).toMatchObject({ error: { code: 'TRAWL_ERR_BLOCKED_ADDRESS' }, attempts: 1 });
    expect(server.record.paths).toEqual([]);
  });
});
