import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { threadId as mainThreadId } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ItemError, ParseTimeoutError, WorkerCrashError, WorkerStartError } from '../../src/errors.js';
import type { CrawlOptions } from '../../src/options.js';
import { ParserPool } from '../../src/parser/pool.js';
import { ThreadPool } from '../../src/parser/thread-pool.js';
import { crawl, type SpiderSource } from '../../src/pipeline/crawl.js';
import type { LogEvent } from '../../src/pipeline/events.js';
import type { Spider } from '../../src/spider.js';
import type { FailureRecord, Item } from '../../src/types.js';
import { fixtureSpider, parseTask } from '../helpers/parse-task.js';
import { htmlRoutes, startServer, type TestServer } from '../helpers/server.js';

const execFileAsync = promisify(execFile);
const FAULTS = fixtureSpider('faults.ts');
const pools: ParserPool[] = [];
function pool(options: ConstructorParameters<typeof ParserPool>[0]): ParserPool {
  const created = new ParserPool(options);
  pools.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trawl-pool-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let markers = 0;
const marker = () => join(dir, `marker-${++markers}`);
const attempts = (file: string) => readFileSync(file, 'utf8').trim().split('\n').length;

describe('ParserPool in worker threads', () => {
  it('imports spider modules written as .ts, .mts, .js and .mjs', async () => {
    const p = pool({ workers: 1 });
    for (const file of ['echo.ts', 'echo.mts', 'echo.js', 'echo.mjs']) {
      const outcome = await p.parse(parseTask({ spiderPath: fixtureSpider(file), url: `http://h/${file}` }));
      expect(outcome.error).toBeUndefined();
      expect(outcome.items).toEqual([
        expect.objectContaining({ kind: file.split('.')[1], url: `http://h/${file}` }),
      ]);
      expect(outcome.threadId).not.toBe(mainThreadId);
    }
  });

  it('imports a spider module once per worker and keeps it', async () => {
    const p = pool({ workers: 1 });
    const loads: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const outcome = await p.parse(
        parseTask({ spiderPath: fixtureSpider('echo.ts'), body: `<title>page ${i}</title>` }),
      );
      expect(outcome.items[0]?.title).toBe(`page ${i}`);
      loads.push(outcome.items[0]?.loads);
    }
    expect(loads).toEqual([1, 1, 1, 1, 1]);
  });

  it('transfers the body: the sender is left with a detached buffer and the worker decodes the bytes', async () => {
    const p = pool({ workers: 1 });
    const body = new TextEncoder().encode('<title>caf\u00e9 \u20ac</title>');
    expect(body.byteLength).toBeGreaterThan(0);
    const pending = p.parse(parseTask({ spiderPath: fixtureSpider('echo.ts'), body }));
    expect(body.byteLength).toBe(0);
    expect(body.buffer.byteLength).toBe(0);
    const outcome = await pending;
    expect(outcome.items[0]?.title).toBe('caf\u00e9 \u20ac');
  });

  it('copies rather than transfers a body that shares its buffer, leaving the neighbours intact', async () => {
    const p = pool({ workers: 1 });
    const shared = new Uint8Array(64);
    const body = shared.subarray(8, 8 + 16);
    body.set(new TextEncoder().encode('<title>x</title>'));
    shared[0] = 42;
    const outcome = await p.parse(parseTask({ spiderPath: fixtureSpider('echo.ts'), body }));
    expect(outcome.items[0]?.title).toBe('x');
    expect(shared.byteLength).toBe(64);
    expect(shared[0]).toBe(42);
  });

  it('is sized to the machine by default and parses on that many threads at once', async () => {
    const p = pool({});
    const expected = Math.max(1, Math.min(availableParallelism(), 4));
    expect(p.size).toBe(expected);
    const outcomes = await Promise.all(
      Array.from({ length: expected * 3 }, () =>
        p.parse(parseTask({ spiderPath: FAULTS, callback: 'busy', userData: { ms: 300 } })),
      ),
    );
    expect(new Set(outcomes.map((o) => o.items[0]?.threadId)).size).toBe(expected);
  });

  it('arms the collection between pages in every worker without handing spider code a global gc', async () => {
    const p = pool({ workers: 2 });
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        p.parse(parseTask({ spiderPath: FAULTS, callback: 'globals', url: `http://h/${i}` })),
      ),
    );
    for (const [i, outcome] of outcomes.entries())
      expect(outcome.items).toEqual([
        { url: `http://h/${i}`, gc: 'undefined', collectsBetweenPages: true, made: 20_000 },
      ]);
  });

  it('lets a JSON callback run without loading cheerio; an HTML callback loads it', async () => {
    const p = pool({ workers: 1 });
    const spiderPath = fixtureSpider('lazy.ts');
    const api = await p.parse(
      parseTask({ spiderPath, callback: 'api', body: '{"n":7}', contentType: 'application/json' }),
    );
    expect(api.items).toEqual([expect.objectContaining({ n: 7, cheerioLoaded: false })]);
    const html = await p.parse(parseTask({ spiderPath, callback: 'html', body: '<title>T</title>' }));
    expect(html.items).toEqual([expect.objectContaining({ title: 'T', cheerioLoaded: true })]);
    expect(html.items[0]?.threadId).toBe(api.items[0]?.threadId);
  });

  it('stops an endless loop at the parse timeout and replaces the worker', async () => {
    const p = pool({ workers: 1, parseTimeoutMs: 1500 });
    const before = await p.parse(parseTask({ spiderPath: FAULTS, callback: 'thread' }));
    const started = performance.now();
    const error = await p.parse(parseTask({ spiderPath: FAULTS, callback: 'loop' })).catch((e) => e);
    expect(error).toBeInstanceOf(ParseTimeoutError);
    expect(error.code).toBe('TRAWL_ERR_PARSE_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(15_000);
    const after = await p.parse(parseTask({ spiderPath: FAULTS, callback: 'thread' }));
    expect(after.items[0]?.threadId).not.toBe(before.items[0]?.threadId);
  });

  it('contains a parse that would run for minutes (parse5 on 100,000-level nesting) within the timeout', async () => {
    const p = pool({ workers: 1, parseTimeoutMs: 3000 });
    await p.parse(parseTask({ spiderPath: FAULTS, callback: 'thread' }));
    const body = `<title>Deep</title>${'<div>'.repeat(100_000)}`;
    const started = performance.now();
    const error = await p
      .parse(parseTask({ spiderPath: FAULTS, callback: 'unboundedParse', body }))
      .catch((e) => e);
    expect(error).toBeInstanceOf(ParseTimeoutError);
    expect(performance.now() - started).toBeLessThan(20_000);
    const after = await p.parse(parseTask({ spiderPath: FAULTS, callback: 'parse', body }));
    expect(after.items).toEqual([expect.objectContaining({ title: 'Deep' })]);
  });

  it('does not count time spent queued behind other pages against the timeout', async () => {
    const p = pool({ workers: 1, parseTimeoutMs: 2500 });
    await p.parse(parseTask({ spiderPath: FAULTS, callback: 'thread' }));
    // Three 900 ms pages on one thread: the last waits 1.8 s, runs 0.9 s, and must not time out.
    const outcomes = await Promise.all(
      [1, 2, 3].map(() =>
        p.parse(parseTask({ spiderPath: FAULTS, callback: 'busy', userData: { ms: 900 } })),
      ),
    );
    expect(outcomes.map((o) => o.error)).toEqual([undefined, undefined, undefined]);
  });

  it('rejects with WorkerCrashError when a callback exits its thread, and replaces the worker', async () => {
    const p = pool({ workers: 1 });
    const file = marker();
    const error = await p
      .parse(parseTask({ spiderPath: FAULTS, callback: 'exit', userData: { marker: file } }))
      .catch((e) => e);
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect(error.message).toMatch(/exited with code: 3/);
    expect(attempts(file)).toBe(1);
    const after = await p.parse(parseTask({ spiderPath: FAULTS, callback: 'thread' }));
    expect(after.error).toBeUndefined();
  });

  it('rejects with WorkerCrashError when a worker runs out of its heap, and replaces the worker', async () => {
    const p = pool({ workers: 1, workerHeapMb: 48 });
    const error = await p
      .parse(parseTask({ spiderPath: FAULTS, callback: 'oom', userData: { marker: marker() } }))
      .catch((e) => e);
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect(error.message).toMatch(/memory/i);
    const after = await p.parse(parseTask({ spiderPath: FAULTS, callback: 'thread' }));
    expect(after.error).toBeUndefined();
  });

  it('reports a worker that fails between pages and keeps parsing on a new one', async () => {
    const errors: Error[] = [];
    const p = pool({ workers: 1, onWorkerError: (error) => errors.push(error) });
    const stray = await p.parse(parseTask({ spiderPath: FAULTS, callback: 'strayRejection' }));
    expect(stray.items).toEqual([{ stray: true }]);
    const deadline = Date.now() + 10_000;
    while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(errors[0]?.message).toMatch(/stray rejection/);
    const after = await p.parse(parseTask({ spiderPath: FAULTS, callback: 'thread' }));
    expect(after.items[0]?.threadId).not.toBe(stray.threadId);
  });

  it('rejects with the abort reason when the signal aborts mid-parse', async () => {
    const p = pool({ workers: 1 });
    const controller = new AbortController();
    const pending = p.parse(parseTask({ spiderPath: FAULTS, callback: 'loop' }), controller.signal);
    setTimeout(() => controller.abort(new Error('stop now')), 300);
    await expect(pending).rejects.toThrow('stop now');
  });

  it('starts its threads in a process run with -e, --input-type and V8 flags', async () => {
    // Threads refuse string-input options and, given explicitly, V8 flags; both must be handled.
    const script = `
      import { ParserPool } from './dist/parser/pool.js';
      const pool = new ParserPool({ workers: 1 });
      const outcome = await pool.parse({ spiderPath: ${JSON.stringify(fixtureSpider('echo.js'))}, callback: 'parse',
        request: { url: 'http://h/x', method: 'GET', callback: 'parse', depth: 0, userData: {} }, url: 'http://h/x',
        status: 200, headers: { 'content-type': 'text/html' }, encoding: 'utf-8', body: new TextEncoder().encode('<title>t</title>') });
      await pool.close();
      console.log(JSON.stringify(outcome.items));
    `;
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--single-threaded-gc', '--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 30_000 },
    );
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual([{ kind: 'js', url: 'http://h/x' }]);
  });

  it('returns a spider module that fails to load as a page error, not a crash', async () => {
    const p = pool({ workers: 1 });
    const outcome = await p.parse(parseTask({ spiderPath: join(dir, 'missing.ts') }));
    expect(outcome.error?.code).toBe('TRAWL_ERR_SPIDER_INVALID');
    expect(outcome.error?.message).toMatch(/cannot load spider module/);
  });
});

describe('ThreadPool', () => {
  it('fails tasks with a clear error when its thread module cannot load, instead of restarting threads forever', async () => {
    const threads = new ThreadPool<object, unknown>({
      module: new URL(`file://${join(dir, 'no-such-worker.js')}`),
      size: 2,
    });
    try {
      await expect(threads.run({})).rejects.toThrow(/parser threads fail to start: Cannot find module/);
      const later = await threads.run({}).catch((error: unknown) => error);
      // A setup problem, not a crash of the page's worker: nothing is tried again.
      expect(later).toBeInstanceOf(WorkerStartError);
      expect(later).toMatchObject({ code: 'TRAWL_ERR_WORKER_START', retryable: false });
    } finally {
      await threads.close();
    }
  });

  it('fails a task that cannot be sent to a thread as an ItemError, and the thread stays usable', async () => {
    const p = pool({ workers: 1 });
    const bad = parseTask({ spiderPath: fixtureSpider('echo.js'), userData: { fn: () => 1 } });
    const error = await p.parse(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ItemError);
    expect(error).toMatchObject({ retryable: false, message: expect.stringMatching(/cannot be sent/) });
    const outcome = await p.parse(parseTask({ spiderPath: fixtureSpider('echo.js') }));
    expect(outcome.error).toBeUndefined();
  });
});

describe('ParserPool on the main thread (workers: 0)', () => {
  const inline: Spider = {
    name: 'inline',
    parse: (page: { $: (s: string) => { text(): string } }) => ({ title: page.$('title').text() }),
    never: () => new Promise(() => undefined),
  };

  it('runs the spider object on the main thread without detaching the body', async () => {
    const p = pool({ workers: 0, spider: inline });
    const body = new TextEncoder().encode('<title>here</title>');
    const outcome = await p.parse(parseTask({ body }));
    expect(outcome.items).toEqual([{ title: 'here' }]);
    expect(outcome.threadId).toBe(mainThreadId);
    expect(body.byteLength).toBeGreaterThan(0);
    expect(p.transfersBody).toBe(false);
  });

  it('gives up on an async callback that never settles after the timeout', async () => {
    const p = pool({ workers: 0, spider: inline, parseTimeoutMs: 200 });
    await expect(p.parse(parseTask({ callback: 'never' }))).rejects.toBeInstanceOf(ParseTimeoutError);
  });

  it('needs a spider object', () => {
    expect(() => new ParserPool({ workers: 0 })).toThrow(
      expect.objectContaining({
        code: 'TRAWL_ERR_USAGE',
        message: expect.stringMatching(/no spider object/),
      }),
    );
  });
});

interface CrawlResult {
  items: Item[];
  failures: FailureRecord[];
  logs: LogEvent[];
  stats: Awaited<ReturnType<typeof crawl>['finished']>;
}

async function runCrawl(source: SpiderSource, options: CrawlOptions): Promise<CrawlResult> {
  const job = crawl(source, { retries: 0, ...options });
  const failures: FailureRecord[] = [];
  const logs: LogEvent[] = [];
  job.events.on('failure', (f) => failures.push(f));
  job.events.on('log', (l) => logs.push(l));
  const items: Item[] = [];
  for await (const item of job) items.push(item);
  return { items, failures, logs, stats: await job.finished };
}

const DEEP_LEVELS = 100_000;

describe('crawl with the parser pool: faults are contained', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(
      htmlRoutes({
        '/ok': '<title>Fine</title><a href="/a">a</a>',
        '/ok2': '<title>Also fine</title>',
        '/page': '<title>Page</title>',
        '/malformed':
          '<html><head><title>Broken</title></head><body><a href="/m1">one<div><p><table><td></span></b></i>' +
          '<a href=\'/m2\'>two<a href=/m3>three</a><!-- never closed <a href="/hidden">',
        '/nul':
          '<title>Nul\u0000Title</title><a href="/n\u00001">n</a><p>\u0000\u0000</p><a href="/n2">n2</a>',
        '/deep': `<html><head><title>Deep</title></head><body><a href="/d1">d1</a><a href="/d2">d2</a>${'<div>'.repeat(DEEP_LEVELS)}<a href="/d3">d3</a>${'</div>'.repeat(DEEP_LEVELS)}</body></html>`,
      }),
    );
  });
  afterAll(() => server.close());
  const at = (path: string) => new URL(path, server.url).href;

  it('records a callback that throws (spider, callback, url, message, stack) and goes on', async () => {
    const { items, failures, logs, stats } = await runCrawl(FAULTS, {
      workers: 1,
      start: [{ url: at('/page'), callback: 'boom' }, at('/ok')],
    });
    expect(failures).toEqual([
      expect.objectContaining({
        url: at('/page'),
        callback: 'boom',
        stage: 'callback',
        error: { code: 'TRAWL_ERR_CALLBACK', message: `boom on ${at('/page')}` },
      }),
    ]);
    const log = logs.find((l) => l.level === 'error');
    expect(log?.message).toContain('faults.boom');
    expect(log?.url).toBe(at('/page'));
    expect(String(log?.data?.stack)).toMatch(/faults\.ts/);
    expect(items).toContainEqual({ url: at('/page'), before: true });
    expect(items).toContainEqual(expect.objectContaining({ title: 'Fine' }));
    expect(stats.stopReason).toBe('finished');
  });

  it('fails a page stuck in an endless loop at the parse timeout; later pages still parse', async () => {
    const { items, failures, stats } = await runCrawl(FAULTS, {
      workers: 1,
      parseTimeoutMs: 2000,
      start: [{ url: at('/page'), callback: 'loop' }, at('/ok'), at('/ok2')],
    });
    expect(failures).toEqual([
      expect.objectContaining({
        url: at('/page'),
        callback: 'loop',
        stage: 'parse',
        error: expect.objectContaining({ code: 'TRAWL_ERR_PARSE_TIMEOUT' }),
      }),
    ]);
    expect(items.map((i) => i.title).sort()).toEqual(['Also fine', 'Fine']);
    expect(stats.retries).toBe(0);
  });

  it('retries a page once after its worker exits, then records it as failed', async () => {
    const file = marker();
    const { items, failures, stats } = await runCrawl(FAULTS, {
      workers: 1,
      start: [{ url: at('/page'), callback: 'exit', userData: { marker: file } }, at('/ok')],
    });
    expect(attempts(file)).toBe(2);
    expect(failures).toEqual([
      expect.objectContaining({
        url: at('/page'),
        stage: 'parse',
        error: expect.objectContaining({ code: 'TRAWL_ERR_WORKER' }),
      }),
    ]);
    expect(stats.retries).toBe(1);
    expect(items).toContainEqual(expect.objectContaining({ title: 'Fine' }));
  });

  it('delivers the items of a page whose worker died only on the first try', async () => {
    const file = marker();
    const { items, failures } = await runCrawl(FAULTS, {
      workers: 1,
      start: [{ url: at('/page'), callback: 'crashOnce', userData: { marker: file } }],
    });
    expect(attempts(file)).toBe(2);
    expect(failures).toEqual([]);
    expect(items).toEqual([{ url: at('/page'), survived: true }]);
  });

  it('retries a page once after its worker runs out of memory, then records it as failed', async () => {
    const file = marker();
    const { items, failures } = await runCrawl(FAULTS, {
      workers: 1,
      workerHeapMb: 48,
      start: [{ url: at('/page'), callback: 'oom', userData: { marker: file } }, at('/ok')],
    });
    expect(attempts(file)).toBe(2);
    expect(failures).toEqual([
      expect.objectContaining({
        url: at('/page'),
        error: expect.objectContaining({ code: 'TRAWL_ERR_WORKER' }),
      }),
    ]);
    expect(items).toContainEqual(expect.objectContaining({ title: 'Fine' }));
  });

  it('fails a page whose callback logged data that cannot be sent, once, without a retry', async () => {
    const file = marker();
    const { items, failures, stats } = await runCrawl(FAULTS, {
      workers: 1,
      start: [{ url: at('/page'), callback: 'fnInLog', userData: { marker: file } }, at('/ok')],
    });
    expect(attempts(file)).toBe(1);
    expect(stats.retries).toBe(0);
    expect(failures).toEqual([
      expect.objectContaining({
        url: at('/page'),
        callback: 'fnInLog',
        error: expect.objectContaining({
          code: 'TRAWL_ERR_ITEM',
          message: expect.stringMatching(/^callback fnInLog on \S+ produced data that cannot be sent/),
        }),
      }),
    ]);
    expect(items).toEqual([expect.objectContaining({ title: 'Fine' })]);
  });

  it('fails every page, without a retry, when no parser thread can start', async () => {
    const { items, failures, stats } = await runCrawl(FAULTS, {
      workers: 1,
      workerHeapMb: 1,
      start: [at('/ok'), at('/ok2')],
    });
    expect(items).toEqual([]);
    expect(stats.retries).toBe(0);
    expect(failures).toHaveLength(2);
    for (const failure of failures)
      expect(failure).toMatchObject({
        stage: 'parse',
        attempts: 1,
        error: {
          code: 'TRAWL_ERR_WORKER_START',
          message: expect.stringMatching(/parser threads fail to start/),
        },
      });
  });

  it('parses malformed HTML, NUL bytes and 100,000-level nesting without a failure', async () => {
    const started = performance.now();
    const { items, failures, logs } = await runCrawl(FAULTS, {
      workers: 1,
      start: [at('/malformed'), at('/nul'), at('/deep')],
    });
    const elapsedMs = performance.now() - started;
    expect(failures).toEqual([]);
    const byTitle = new Map(items.map((i) => [i.title, i.links]));
    expect(byTitle.get('Broken')).toEqual([at('/m1'), at('/m2'), at('/m3')]);
    expect(byTitle.get('Nul\u0000Title')).toEqual([at('/n\u00001'), at('/n2')]);
    expect(byTitle.get('Deep')).toEqual([at('/d1'), at('/d2')]);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        url: at('/deep'),
        message: expect.stringMatching(/nests deeper/),
      }),
    );
    // parse5 did not finish such a page in 120 s; the bounded parser takes well under a second.
    expect(elapsedMs).toBeLessThan(20_000);
  });

  it('records an item that is not plain data as a failure naming the callback', async () => {
    const { items, failures } = await runCrawl(FAULTS, {
      workers: 1,
      start: [{ url: at('/page'), callback: 'fnItem' }, at('/ok')],
    });
    expect(failures).toEqual([
      expect.objectContaining({
        url: at('/page'),
        callback: 'fnItem',
        error: {
          code: 'TRAWL_ERR_ITEM',
          message:
            'callback faults.fnItem yielded an item with a function at item.format; items must be plain data',
        },
      }),
    ]);
    expect(items).toEqual([expect.objectContaining({ title: 'Fine' })]);
  });

  it('parses an inline spider object on the main thread', async () => {
    const spider: Spider = {
      name: 'inline',
      parse: (page: { $: (s: string) => { text(): string } }) => ({
        title: page.$('title').text(),
        threadId: mainThreadId,
      }),
    };
    const { items } = await runCrawl(spider, { workers: 2, start: [at('/ok')] });
    expect(items).toEqual([{ title: 'Fine', threadId: mainThreadId }]);
  });
});
