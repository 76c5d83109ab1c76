import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crawl, defineSpider, MemorySink, sinkFromUri } from '../../src/index.js';
import { DATABASE_URL, isolatedTable } from '../helpers/postgres.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Six pages behind an index: two answer to If-None-Match (ETag), two to If-Modified-Since, two
 * send no validators at all. `version` changes a page's content (and its ETag/Last-Modified).
 */
const PAGES = ['etag/1', 'etag/2', 'lm/1', 'lm/2', 'plain/1', 'plain/2'];
const version = new Map(PAGES.map((p) => [p, 1]));
const seen: Array<{ path: string; status: number; conditional: boolean }> = [];

function answer(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
  if (path === 'robots.txt') return void res.writeHead(404).end();
  const conditional = Boolean(req.headers['if-none-match'] || req.headers['if-modified-since']);
  const send = (status: number, headers: Record<string, string>, body = '') => {
    seen.push({ path, status, conditional });
    res.writeHead(status, { 'content-type': 'text/html', ...headers }).end(body);
  };
  if (path === '')
    return send(
      200,
      {},
      `<html><body>${PAGES.map((p) => `<a href="/${p}">${p}</a>`).join('')}</body></html>`,
    );
  const v = version.get(path);
  if (!v) return send(404, {}, 'no');
  const body = `<html><body><h1>${path}</h1><p class="v">${v}</p></body></html>`;
  if (path.startsWith('etag/')) {
    const etag = `"${path}-v${v}"`;
    if (req.headers['if-none-match'] === etag) return send(304, { etag });
    return send(200, { etag }, body);
  }
  if (path.startsWith('lm/')) {
    const modified = new Date(Date.UTC(2026, 0, v)).toUTCString();
    const since = req.headers['if-modified-since'];
    if (since && Date.parse(since) >= Date.parse(modified)) return send(304, {});
    return send(200, { 'last-modified': modified }, body);
  }
  send(200, {}, body);
}

const spider = defineSpider({
  name: 'versions',
  startUrls: ['http://127.0.0.1:1/'],
  *parse(page) {
    yield* page.followAll('a', 'page');
  },
  *page(page) {
    yield { path: new URL(page.url).pathname.slice(1), version: Number(page.$('.v').text()) };
  },
});

describe('conditional re-crawl from a job directory', () => {
  let site: TestServer;
  let dir: string;
  beforeAll(async () => {
    site = await startServer(answer);
    dir = await mkdtemp(join(tmpdir(), 'trawl-recrawl-'));
  });
  afterAll(async () => {
    await site.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (recrawl?: boolean | { olderThanMs: number }) => {
    seen.length = 0;
    const sink = new MemorySink();
    const stats = await crawl(spider, {
      start: [site.url],
      jobDir: dir,
      workers: 0,
      ...(recrawl === undefined ? {} : { recrawl }),
    }).pipeTo(sink);
    const items = sink.items.map((i) => `${String(i.path)}@${String(i.version)}`).sort();
    return { stats, items, requests: [...seen] };
  };

  it('revisits with validators: a 304 or the same body is not parsed, a changed page is', async () => {
    const first = await run();
    expect(first.items).toEqual(PAGES.map((p) => `${p}@1`).sort());
    expect(first.stats.notModified).toBe(0);
    expect(first.requests.every((r) => !r.conditional)).toBe(true);

    // Nothing to do on a plain re-run of a finished crawl.
    const again = await run();
    expect(again.requests).toEqual([]);
    expect(again.items).toEqual([]);

    // Three pages change: one of each kind.
    for (const p of ['etag/2', 'lm/1', 'plain/2']) version.set(p, 2);
    const second = await run(true);
    // Every page on record was asked for once, the index and the six pages.
    expect(second.requests.map((r) => r.path).sort()).toEqual(['', ...PAGES].sort());
    const byPath = new Map(second.requests.map((r) => [r.path, r]));
    for (const p of ['etag/1', 'etag/2', 'lm/1', 'lm/2']) expect(byPath.get(p)?.conditional, p).toBe(true);
    expect(byPath.get('etag/1')?.status).toBe(304);
    expect(byPath.get('lm/2')?.status).toBe(304);
    expect(byPath.get('etag/2')?.status).toBe(200);
    expect(byPath.get('lm/1')?.status).toBe(200);
    // Only the changed pages were parsed and gave items, with the new content.
    expect(second.items).toEqual(['etag/2@2', 'lm/1@2', 'plain/2@2']);
    // Unchanged: two 304s, plus plain/1 and the index by their unchanged bodies.
    expect(second.stats.notModified).toBe(4);
    expect(second.stats.pages).toBe(3);
    expect(second.stats.responses['3xx']).toBe(2);

    // Pages fetched just now are not due for a re-crawl of pages older than an hour.
    const recent = await run({ olderThanMs: 3_600_000 });
    expect(recent.requests).toEqual([]);
    expect(recent.stats.notModified).toBe(0);

    // The stored validators were updated by the last visit: nothing changed since, all unchanged.
    const third = await run(true);
    expect(third.items).toEqual([]);
    expect(third.stats.notModified).toBe(7);
    expect(third.requests.filter((r) => r.status === 304)).toHaveLength(4);
  });

  it('refuses recrawl without a job directory', () => {
    expect(() => crawl(spider, { recrawl: true })).not.toThrow();
    return expect(crawl(spider, { recrawl: true }).pipeTo(new MemorySink())).rejects.toThrow(
      /option recrawl: needs jobDir/,
    );
  });
});

describe.skipIf(!DATABASE_URL)('a re-crawl into PostgreSQL', () => {
  it('updates the rows of changed pages by key and adds none', async () => {
    const site = await startServer(answer);
    const dir = await mkdtemp(join(tmpdir(), 'trawl-recrawl-pg-'));
    const table = await isolatedTable();
    try {
      const output = new URL(table.url);
      output.searchParams.set('table', table.name);
      for (const p of PAGES) version.set(p, 1);
      const options = { start: [site.url], jobDir: dir, workers: 0 };
      await crawl(spider, options).pipeTo(sinkFromUri(output.href));
      version.set('plain/1', 3);
      version.set('etag/1', 3);
      const stats = await crawl(spider, { ...options, recrawl: true }).pipeTo(sinkFromUri(output.href));
      expect(stats.items).toBe(2);
      const { rows } = await table.admin.query(
        `SELECT data->>'path' AS path, (data->>'version')::int AS version FROM "${table.name}" ORDER BY 1`,
      );
      expect(rows).toEqual(
        PAGES.map((path) => ({ path, version: ['plain/1', 'etag/1'].includes(path) ? 3 : 1 })).sort((a, b) =>
          a.path.localeCompare(b.path),
        ),
      );
    } finally {
      await table.drop();
      await site.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
