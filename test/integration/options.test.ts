import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionError } from '../../src/errors.js';
import { type CrawlOptions, type CrawlSettings, DEFAULTS, resolveOptions } from '../../src/options.js';
import { crawl } from '../../src/pipeline/crawl.js';
import { request } from '../../src/spider.js';
import { MemorySink } from '../../src/storage/memory.js';
import type { FailureRecord, Item } from '../../src/types.js';
import { htmlRoutes, startServer, type TestServer } from '../helpers/server.js';

/** The OptionError `resolveOptions` throws for these settings and options. */
function optionError(settings: unknown, options: unknown): OptionError {
  try {
    resolveOptions(settings as CrawlSettings, options as CrawlOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(OptionError);
    return error as OptionError;
  }
  throw new Error('no error');
}

describe('a key with no place there', () => {
  it.each([
    ['at the top', { retires: 2 }, {}, 'settings.retires', 'unknown setting, did you mean retries?'],
    [
      'one level down',
      { perHost: { concurency: 8 } },
      {},
      'settings.perHost.concurency',
      'unknown setting, did you mean concurrency?',
    ],
    [
      'in the wrong case, in crawl options',
      {},
      { timeouts: { totalMS: 5 } },
      'timeouts.totalMS',
      'unknown option, did you mean totalMs?',
    ],
    ['without its unit', {}, { timeLimit: 60_000 }, 'timeLimit', 'unknown option, did you mean timeLimitMs?'],
    [
      'in a list of host rules',
      { hosts: [{ match: 'a.test' }, { match: 'b.test', delay: 5 }] },
      {},
      'settings.hosts[1].delay',
      'unknown setting, did you mean delayMs?',
    ],
    [
      'in the object form of a boolean-or-object setting',
      { adaptiveThrottle: { recoverafter: 2 } },
      {},
      'settings.adaptiveThrottle.recoverafter',
      'unknown setting, did you mean recoverAfter?',
    ],
    [
      'in the object form of a string-or-object setting',
      { httpCache: { uri: 'memory:', ttl: 5 } },
      {},
      'settings.httpCache.ttl',
      'unknown setting, did you mean ttlMs?',
    ],
    [
      'in the distributed options',
      {},
      { distributed: { redis: 'redis://127.0.0.1:6379', crawlId: 'x', lease: 5 } },
      'distributed.lease',
      'unknown option, did you mean leaseMs?',
    ],
    [
      'in a start request',
      {},
      { start: [{ url: 'http://a.test/', calback: 'x' }] },
      'start[0].calback',
      'unknown option, did you mean callback?',
    ],
    [
      'with no key close to it',
      { perHost: { speed: 1 } },
      {},
      'settings.perHost.speed',
      'unknown setting; known: concurrency, delayMs, jitterMs',
    ],
  ])('%s', (_, settings, options, path, problem) => {
    const error = optionError(settings, options);
    expect(error).toMatchObject({ code: 'TRAWL_ERR_OPTION', path, message: `option ${path}: ${problem}` });
  });

  it('is reported before a bad value of the same object', () => {
    expect(optionError({ perHost: { concurrency: 0, delay: 5 } }, {}).path).toBe('settings.perHost.delay');
  });
});

describe('a bad value', () => {
  it.each([
    [
      'at the top',
      { concurrency: 1.5 },
      {},
      'settings.concurrency',
      'expected an integer >= 1, received 1.5',
    ],
    [
      'one level down',
      { perHost: { concurrency: 0 } },
      {},
      'settings.perHost.concurrency',
      'expected an integer >= 1, received 0',
    ],
    [
      'in crawl options',
      {},
      { timeouts: { totalMs: -5 } },
      'timeouts.totalMs',
      'expected a number > 0, received -5',
    ],
    [
      'in the object form of a union',
      { adaptiveThrottle: { maxGapMs: -1 } },
      {},
      'settings.adaptiveThrottle.maxGapMs',
      'expected a number > 0, received -1',
    ],
    [
      'of neither form of a union',
      { adaptiveThrottle: 'yes' },
      {},
      'settings.adaptiveThrottle',
      'expected a boolean or an object, received "yes"',
    ],
    [
      'in a list',
      { allowPrivateNetwork: ['10.0.0.0/8', 'nope'] },
      {},
      'settings.allowPrivateNetwork[1]',
      'expected an IP address or CIDR range, received "nope"',
    ],
    [
      'in a host rule',
      { hosts: [{ match: 5 }] },
      {},
      'settings.hosts[0].match',
      'expected a string or RegExp, received 5',
    ],
    ['of a header', {}, { headers: { 'x-n': 5 } }, 'headers.x-n', 'expected a string, received 5'],
    [
      'an object where a number goes',
      { maxPages: {} },
      {},
      'settings.maxPages',
      'expected an integer >= 1 or Infinity, received {}',
    ],
    ['a number where an object goes', {}, { backoff: 5 }, 'backoff', 'expected an object, received 5'],
    [
      'a key that is required and missing',
      {},
      { distributed: { crawlId: 'x' } },
      'distributed.redis',
      'expected a redis:// or rediss:// URL, received "(not shown)"',
    ],
    [
      'of a start request',
      {},
      { start: ['http://a.test/', { url: '' }] },
      'start[1].url',
      'expected a non-empty string, received ""',
    ],
  ])('%s', (_, settings, options, path, problem) => {
    const error = optionError(settings, options);
    expect(error).toMatchObject({ code: 'TRAWL_ERR_OPTION', path, message: `option ${path}: ${problem}` });
  });

  it('that may hold credentials is not shown', () => {
    const error = optionError({}, { proxy: 'ftp://user:hunter2@proxy.test' });
    expect(error.message).toBe('option proxy: expected an http(s) URL, received "(not shown)"');
    const redis = optionError({}, { distributed: { redis: 'http://:hunter2@redis.test', crawlId: 'x' } });
    expect(redis.message).not.toContain('hunter2');
  });
});

describe('crawl-only keys in a spider', () => {
  const crawlOnly: Array<[string, unknown]> = [
    ['workers', 2],
    ['workerHeapMb', 64],
    ['itemBuffer', 10],
    ['stopGraceMs', 100],
    ['signal', new AbortController().signal],
    ['dnsLookup', () => undefined],
    ['jobDir', '/tmp/trawl-job'],
    ['distributed', { redis: 'redis://127.0.0.1:6379', crawlId: 'x', leaseMs: 5_000, outageMs: 60_000 }],
  ];

  it.each(crawlOnly)('%s in settings is rejected as a crawl option, and taken from crawl()', (key, value) => {
    const error = optionError({ [key]: value }, {});
    expect(error.path).toBe(`settings.${key}`);
    expect(error.message).toBe(
      `option settings.${key}: a crawl option, not a spider setting: give it to crawl() or on the command line`,
    );
    expect((resolveOptions({}, { [key]: value }) as Record<string, unknown>)[key]).toEqual(value);
  });

  it('start in settings points to startUrls', () => {
    expect(optionError({ start: ['http://a.test/'] }, {}).message).toBe(
      'option settings.start: a crawl option, not a spider setting: a spider lists its start URLs in startUrls or start()',
    );
  });

  it('fail the crawl before any request', async () => {
    let requests = 0;
    const server = await startServer((_req, res) => {
      requests++;
      res.end('<p>hi</p>');
    });
    try {
      const spider = { name: 's', settings: { workers: 0 } as CrawlSettings, parse: () => undefined };
      await expect(crawl(spider, { start: [server.url] }).pipeTo(new MemorySink())).rejects.toMatchObject({
        code: 'TRAWL_ERR_OPTION',
        path: 'settings.workers',
      });
      expect(requests).toBe(0);
    } finally {
      await server.close();
    }
  });
});

describe('resolving', () => {
  it('applies every default once, from the schema', () => {
    const resolved = resolveOptions();
    expect(resolved).toMatchObject({ ...DEFAULTS, adaptiveThrottle: expect.any(Object) });
    expect(resolved.perHost).toEqual({ concurrency: 8, delayMs: 0, jitterMs: 0 });
    expect(resolved.adaptiveThrottle).toEqual({
      minBackoffGapMs: 250,
      maxGapMs: 15_000,
      latencyFactor: 4,
      latencyFloorMs: 250,
      recoverAfter: 8,
    });
  });

  it('lets crawl options win over settings, object settings key by key, undefined setting nothing', () => {
    const resolved = resolveOptions(
      { concurrency: 4, perHost: { concurrency: 2, delayMs: 100 }, headers: { a: '1' }, retries: 1 },
      {
        concurrency: 8,
        perHost: { delayMs: 5, jitterMs: undefined },
        headers: { b: '2' },
        retries: undefined,
      },
    );
    expect(resolved.concurrency).toBe(8);
    expect(resolved.perHost).toEqual({ concurrency: 2, delayMs: 5, jitterMs: 0 });
    expect(resolved.headers).toEqual({ a: '1', b: '2' });
    expect(resolved.retries).toBe(1);
  });

  it('checks a spider setting even when a crawl option replaces it', () => {
    expect(optionError({ maxPages: -1 }, { maxPages: 10 }).path).toBe('settings.maxPages');
  });
});

describe('request options', () => {
  it('reject a key no request has, naming it', () => {
    expect(() => request({ url: 'http://a.test/', priorty: 1 } as never)).toThrow(
      'option request.priorty: unknown request option, did you mean priority?',
    );
    expect(() => request({ url: 'http://a.test/', rendr: true } as never)).toThrow(
      'option request.rendr: unknown request option, did you mean render?',
    );
  });
});

describe('a misspelt follow option in a callback', () => {
  let server: TestServer;
  const fixture = fileURLToPath(new URL('../fixtures/follow-typo-spider.mjs', import.meta.url));
  beforeAll(async () => {
    server = await startServer(
      htmlRoutes({
        '/': '<p>start</p>',
        '/good': '<p>good</p>',
        '/list': '<a href="/one">one</a>',
        '/never': '<p>never</p>',
      }),
    );
  });
  afterAll(() => server.close());

  it.each([
    ['in parser threads', 1],
    ['on the main thread', 0],
  ])(
    'fails that page with the key and the callback named, and the crawl goes on (%s)',
    async (_, workers) => {
      const job = crawl(fixture, { start: [server.url], workers });
      const failures: FailureRecord[] = [];
      job.events.on('failure', (f) => failures.push(f));
      const items: Item[] = [];
      for await (const item of job) items.push(item);
      const stats = await job.finished;

      expect(stats.stopReason).toBe('finished');
      // What the callback yielded before the bad call still counts; what came after it never ran.
      expect(items.map((i) => new URL(String(i.url)).pathname).sort()).toEqual(['/', '/good']);
      expect(failures.map((f) => [new URL(f.url).pathname, f.callback, f.stage, f.error.code])).toEqual([
        ['/', 'parse', 'callback', 'TRAWL_ERR_OPTION'],
        ['/list', 'list', 'callback', 'TRAWL_ERR_OPTION'],
      ]);
      expect(failures[0]!.error.message).toMatch(
        'option follow.rendr: unknown request option, did you mean render? (in callback typo.parse)',
      );
      expect(failures[1]!.error.message).toBe(
        'option followAll.callbak: unknown request option, did you mean callback? (in callback typo.list)',
      );
    },
  );
});
