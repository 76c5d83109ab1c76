import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OptionError } from '../../src/errors.js';
import { CookieSession } from '../../src/fetcher/cookies.js';
import { resolveOptions } from '../../src/options.js';
import { crawl } from '../../src/pipeline/crawl.js';
import { JobDir } from '../../src/pipeline/job-dir.js';
import { prepareRequest } from '../../src/request-init.js';
import { type Page, request, type Spider } from '../../src/spider.js';
import { MemorySink } from '../../src/storage/memory.js';
import { fixtureSpider } from '../helpers/parse-task.js';
import { startServer, type TestServer } from '../helpers/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-requests-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One request as the server received it. */
interface Received {
  method: string;
  path: string;
  type: string | undefined;
  body: string;
  cookie: string | undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A server that records every request (robots.txt aside) before `handle` answers it. */
async function recordingSite(handle: Handler): Promise<{ server: TestServer; received: Received[] }> {
  const received: Received[] = [];
  const server = await startServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.url === '/robots.txt') return res.writeHead(404).end();
      received.push({
        method: String(req.method),
        path: String(req.url),
        type: req.headers['content-type'],
        body,
        cookie: req.headers.cookie,
      });
      handle(req, res, body);
    });
  });
  cleanups.push(() => server.close());
  return { server, received };
}

const html = (res: ServerResponse, status: number, body: string) =>
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body);

/** Everything but /start answers a small page; /start is what the requests spider parses. */
const simpleSite = () => recordingSite((_req, res) => html(res, 200, '<h1>ok</h1>'));

/** What the requests fixture spider sends, as the server must receive it. */
const EXPECTED_BODIES = [
  {
    method: 'POST',
    path: '/form',
    type: 'application/x-www-form-urlencoded',
    body: 'a=1&b=x&b=y&q=two+words+%26+more',
  },
  { method: 'POST', path: '/json', type: 'application/json', body: '{"n":1,"s":"é"}' },
  { method: 'POST', path: '/params', type: 'application/x-www-form-urlencoded', body: 'k=v+w' },
  { method: 'POST', path: '/text', type: 'text/plain;charset=UTF-8', body: 'raw text' },
  { method: 'POST', path: '/xml', type: 'application/xml', body: '<x/>' },
  { method: 'PUT', path: '/put', type: 'application/x-www-form-urlencoded', body: 'a=1' },
  { method: 'GET', path: '/search?q=a+b', type: undefined, body: '' },
  { method: 'POST', path: '/same', type: 'application/x-www-form-urlencoded', body: 'v=1' },
  { method: 'POST', path: '/same', type: 'application/x-www-form-urlencoded', body: 'v=2' },
];
const sorted = (list: Array<Record<string, unknown>>) =>
  [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
const withoutCookie = ({ cookie: _cookie, ...rest }: Received) => rest;

describe('request bodies', () => {
  it('form, json, URLSearchParams and string bodies yielded in a parser thread reach the server as a browser sends them', async () => {
    const { server, received } = await simpleSite();
    const sink = new MemorySink();
    const stats = await crawl(fixtureSpider('requests.ts'), {
      start: [`${server.origin}/start`],
      workers: 1,
    }).pipeTo(sink);
    expect(stats.failed).toBe(0);
    expect(stats.dropped.duplicate).toBe(1);
    expect(sorted(received.filter((r) => r.path !== '/start').map(withoutCookie))).toEqual(
      sorted(EXPECTED_BODIES),
    );
    expect(sink.items).toHaveLength(9);
    expect(sink.items).toContainEqual({ path: '/json', method: 'POST' });
  });

  it('request() in start() and plain start entries take the same options', async () => {
    const { server, received } = await simpleSite();
    const spider = {
      name: 'starts',
      *start() {
        yield request({ url: `${server.origin}/login`, form: { user: 'ann b' } });
        yield { url: `${server.origin}/api`, json: [1, 2] };
      },
      parse: (page: Page) => ({ path: new URL(page.url).pathname, method: page.request.method }),
    } as Spider;
    await crawl(spider, { workers: 0 }).pipeTo(new MemorySink());
    await crawl(spider, {
      workers: 0,
      start: [{ url: `${server.origin}/put`, method: 'PUT', body: new URLSearchParams([['k', 'v']]) }],
    }).pipeTo(new MemorySink());
    expect(sorted(received.map(withoutCookie))).toEqual(
      sorted([
        { method: 'POST', path: '/login', type: 'application/x-www-form-urlencoded', body: 'user=ann+b' },
        { method: 'POST', path: '/api', type: 'application/json', body: '[1,2]' },
        { method: 'PUT', path: '/put', type: 'application/x-www-form-urlencoded', body: 'k=v' },
      ]),
    );
  });

  it("are encoded once, the user's content type winning, and conflicting options fail clearly", () => {
    const form = prepareRequest({ url: 'http://a.test/', form: [['a', '1 2']] });
    expect(form).toEqual({
      url: 'http://a.test/',
      method: 'POST',
      body: 'a=1+2',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(prepareRequest(form)).toBe(form);
    const typed = prepareRequest({
      url: 'http://a.test/',
      json: {},
      headers: { 'CONTENT-TYPE': 'application/vnd.x+json' },
    });
    expect(typed.headers).toEqual({ 'CONTENT-TYPE': 'application/vnd.x+json' });
    expect(() => request({ url: 'http://a.test/', form: { a: '1' }, json: 1 })).toThrow(
      /only one of body, form and json/,
    );
    expect(() => request({ url: 'http://a.test/', body: { a: 1 } as never })).toThrow(
      expect.objectContaining({
        code: 'TRAWL_ERR_OPTION',
        message: expect.stringMatching(/json for objects/),
      }),
    );
  });

  it('survive a job directory: a POST queued when the crawl stopped is sent with its body and headers on resume', async () => {
    const { server, received } = await simpleSite();
    const dir = join(tempDir(), 'job');
    const options = { start: [`${server.origin}/start`], jobDir: dir, workers: 1 };
    const first = await crawl(fixtureSpider('requests.ts'), { ...options, maxPages: 1 }).pipeTo(
      new MemorySink(),
    );
    expect(first.stopReason).toBe('maxPages');
    expect(received.map((r) => r.path)).toEqual(['/start']);
    const log = readFileSync(join(dir, 'frontier.log'), 'utf8');
    expect(log).toContain('"body":"a=1&b=x&b=y&q=two+words+%26+more"');
    expect(log).toContain('"headers":{"content-type":"application/x-www-form-urlencoded"}');

    const second = await crawl(fixtureSpider('requests.ts'), options).pipeTo(new MemorySink());
    expect(second.stopReason).toBe('finished');
    expect(sorted(received.slice(1).map(withoutCookie))).toEqual(sorted(EXPECTED_BODIES));
  });
});

describe('acceptStatus', () => {
  /** /missing is a 404 page, /forbidden a 403, /busy a 503, /moved a 302 to /target. */
  async function statusSite() {
    return recordingSite((req, res) => {
      const path = new URL(String(req.url), 'http://x').pathname;
      if (path === '/missing') return html(res, 404, '<h1>gone</h1>');
      if (path === '/forbidden') return html(res, 403, '<h1>members only</h1>');
      if (path === '/busy')
        return res.writeHead(503, { 'retry-after': '0', 'content-type': 'text/html' }).end('<h1>busy</h1>');
      if (path === '/moved') return res.writeHead(302, { location: '/target' }).end();
      html(res, 200, `<a href="/forbidden">f</a><h1>index</h1>`);
    });
  }
  const record = (page: Page) => ({
    path: new URL(page.url).pathname,
    status: page.status,
    h1: page.$('h1').text(),
  });

  it('hands the listed statuses to the callback, per request or crawl-wide; an accepted 503 is parsed, not retried', async () => {
    const { server, received } = await statusSite();
    const spider = {
      name: 'status',
      *parse(page: Page) {
        yield record(page);
        yield page.follow('/forbidden', 'item', { acceptStatus: [403] });
        yield page.follow('/moved', 'item', { acceptStatus: [302] });
      },
      item: record,
    } as Spider;
    const failures: Array<{ url: string; status?: number }> = [];
    const c = crawl(spider, {
      workers: 0,
      retries: 2,
      acceptStatus: [503],
      start: [
        { url: `${server.origin}/missing`, acceptStatus: [404] },
        `${server.origin}/busy`,
        { url: `${server.origin}/busy?own-list`, acceptStatus: [] },
      ],
    });
    c.events.on('failure', (f) => failures.push(f));
    const sink = new MemorySink();
    const stats = await c.pipeTo(sink);
    expect(sorted(sink.items)).toEqual(
      sorted([
        { path: '/missing', status: 404, h1: 'gone' },
        { path: '/busy', status: 503, h1: 'busy' },
        { path: '/forbidden', status: 403, h1: 'members only' },
        { path: '/moved', status: 302, h1: '' },
      ]),
    );
    // The request's own (empty) list replaces the crawl's: its 503 is retried, then fails.
    expect(failures).toEqual([
      expect.objectContaining({ url: `${server.origin}/busy?own-list`, status: 503 }),
    ]);
    expect(received.filter((r) => r.path === '/busy')).toHaveLength(1);
    expect(received.filter((r) => r.path === '/busy?own-list')).toHaveLength(3);
    // An accepted redirect is the answer: its target is never asked for.
    expect(received.some((r) => r.path === '/target')).toBe(false);
    expect(stats.failed).toBe(1);
  });

  it('without it a 404 still fails the request, and a follow() without the option is not parsed', async () => {
    const { server } = await statusSite();
    const failures: Array<{ status?: number }> = [];
    const c = crawl(
      { name: 'plain', parse: record, item: record },
      {
        workers: 0,
        start: [`${server.origin}/missing`],
      },
    );
    c.events.on('failure', (f) => failures.push(f));
    const sink = new MemorySink();
    await c.pipeTo(sink);
    expect(sink.items).toEqual([]);
    expect(failures).toEqual([expect.objectContaining({ status: 404 })]);
  });

  it('is validated: integers 100-599, crawl-wide and per request', () => {
    expect(resolveOptions({ acceptStatus: [404, 503] }).acceptStatus).toEqual([404, 503]);
    expect(resolveOptions().acceptStatus).toEqual([]);
    expect(() => resolveOptions({ acceptStatus: [99] })).toThrow(OptionError);
    expect(() => resolveOptions({}, { acceptStatus: [404.5] })).toThrow(/acceptStatus\[0\]/);
    expect(() => resolveOptions({ acceptStatus: 404 as never })).toThrow(/array of HTTP statuses/);
    expect(() => request({ url: 'http://a.test/', acceptStatus: [600] })).toThrow(
      /request.acceptStatus\[0\]/,
    );
  });
});

/**
 * A site behind a login: GET /login is a form with a CSRF token; POST /session with the right
 * fields sets a session cookie and 303s to /account, which links the item pages /p/1.. /p/N.
 * Without the cookie the item pages answer 200 with no item, as real sites do.
 */
async function loginSite(items: number, options: { hang?: Set<string> } = {}) {
  const SESSION = 'sid=s3ss10n';
  return recordingSite((req, res, body) => {
    const path = String(req.url);
    const loggedIn = req.headers.cookie?.split('; ').includes(SESSION) ?? false;
    if (options.hang?.has(path)) return;
    if (path === '/login')
      return html(
        res,
        200,
        `<form id="login" method="post" action="/session"><input type="hidden" name="csrf" value="t0k3n">
         <input name="user"><input type="password" name="pass"><input type="submit" name="go" value="Sign in"></form>`,
      );
    if (path === '/session' && req.method === 'POST') {
      if (body !== 'csrf=t0k3n&user=ann&pass=secret&go=Sign+in') return html(res, 403, 'bad login');
      return res.writeHead(303, { location: '/account', 'set-cookie': `${SESSION}; Path=/; HttpOnly` }).end();
    }
    if (path === '/account') {
      const links = Array.from(
        { length: items },
        (_, i) => `<a class="item" href="/p/${i + 1}">${i + 1}</a>`,
      );
      return html(res, 200, loggedIn ? links.join('') : '<p>please log in</p>');
    }
    const item = /^\/p\/(\d+)$/.exec(path);
    if (item)
      return html(res, 200, loggedIn ? `<h1 class="item">Item ${item[1]}</h1>` : '<p>please log in</p>');
    html(res, 404, 'no');
  });
}
const titles = (count: number, from = 1) => Array.from({ length: count }, (_, i) => `Item ${from + i}`);

describe('a login form and its session', () => {
  it('submitForm logs in (CSRF token and button sent), and the 303 to the account page is a clean GET', async () => {
    const { server, received } = await loginSite(3);
    const sink = new MemorySink();
    await crawl(fixtureSpider('login.ts'), { start: [`${server.origin}/login`], workers: 1 }).pipeTo(sink);
    expect(sink.items.map((x) => x.title).sort()).toEqual(titles(3));
    expect(received.slice(0, 3)).toEqual([
      { method: 'GET', path: '/login', type: undefined, body: '', cookie: undefined },
      {
        method: 'POST',
        path: '/session',
        type: 'application/x-www-form-urlencoded',
        body: 'csrf=t0k3n&user=ann&pass=secret&go=Sign+in',
        cookie: undefined,
      },
      { method: 'GET', path: '/account', type: undefined, body: '', cookie: 'sid=s3ss10n' },
    ]);
  });

  it('survives a job-directory resume: the rest of the protected pages still yield their items', async () => {
    const { server, received } = await loginSite(6);
    const dir = join(tempDir(), 'job');
    const options = { start: [`${server.origin}/login`], jobDir: dir, workers: 1, concurrency: 1 };
    const first = new MemorySink();
    // The login page, the login POST (answered by the account page after its 303), two item pages.
    const a = await crawl(fixtureSpider('login.ts'), { ...options, maxPages: 4 }).pipeTo(first);
    expect(a.stopReason).toBe('maxPages');
    expect(first.items.map((x) => x.title).sort()).toEqual(titles(2));
    expect(statSync(join(dir, 'cookies.json')).mode & 0o777).toBe(0o600);

    const second = new MemorySink();
    const b = await crawl(fixtureSpider('login.ts'), options).pipeTo(second);
    expect(b.stopReason).toBe('finished');
    expect(second.items.map((x) => x.title).sort()).toEqual(titles(4, 3));
    // Logged in once, in the first run; every later page went with the session.
    expect(received.filter((r) => r.path === '/session')).toHaveLength(1);
    expect(received.filter((r) => r.path.startsWith('/p/')).map((r) => r.cookie)).toEqual(
      Array(6).fill('sid=s3ss10n'),
    );
  });

  it('keeps the cookies written so far through a kill -9', async () => {
    const hang = new Set(['/p/2']);
    const { server, received } = await loginSite(4, { hang });
    const dir = tempDir();
    const job = join(dir, 'job');
    const out = join(dir, 'items.jsonl');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'test/fixtures/login-crawl.ts'), `${server.origin}/login`, job, out],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    cleanups.push(() => child.kill('SIGKILL'));
    const deadline = Date.now() + 30_000;
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []);
    // Logged in, item 1 delivered, the request for item 2 in flight (the server never answers it).
    while (!(received.some((r) => r.path === '/p/2') && lines().length === 1) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(lines(), stderr).toEqual(['{"title":"Item 1"}']);
    while (!existsSync(join(job, 'cookies.json')) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    expect(readFileSync(join(job, 'cookies.json'), 'utf8')).toContain('s3ss10n');

    hang.clear();
    const sink = new MemorySink();
    const stats = await crawl(fixtureSpider('login.ts'), {
      start: [`${server.origin}/login`],
      jobDir: job,
      workers: 1,
    }).pipeTo(sink);
    expect(stats.stopReason).toBe('finished');
    // Item 1 may come again: the kill can beat the record that its page was done (at least once).
    expect(
      sink.items
        .map((x) => x.title)
        .filter((t) => t !== 'Item 1')
        .sort(),
    ).toEqual(titles(3, 2));
    expect(received.filter((r) => r.path === '/session')).toHaveLength(1);
  });
});

describe('the cookie jar in a job directory', () => {
  it('is saved atomically soon after a change, without a close, and restored by the next open', async () => {
    const dir = tempDir();
    const job = new JobDir(dir);
    await job.open();
    const jar = job.keepCookies((saved) => new CookieSession(saved));
    await jar.store('http://shop.test/login', ['sid=1; Path=/', 'theme=dark; Max-Age=3600']);
    const file = join(dir, 'cookies.json');
    const deadline = Date.now() + 5_000;
    while (!existsSync(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await expect(new CookieSession(readFileSync(file, 'utf8')).header('http://shop.test/x')).resolves.toBe(
      'sid=1; theme=dark',
    );
    await jar.store('http://shop.test/logout', 'sid=2; Path=/');
    await job.close();
    expect(existsSync(`${file}.tmp`)).toBe(false);

    const again = new JobDir(dir);
    await again.open();
    const restored = again.keepCookies((saved) => new CookieSession(saved));
    await again.close();
    expect(await restored.header('http://shop.test/')).toBe('sid=2; theme=dark');
    expect(restored.mayHaveCookies('shop.test')).toBe(true);
  });
});
