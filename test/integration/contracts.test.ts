import { execFile } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSite, startDemoSite } from '../../src/demo/site.js';
import { checkSpider, crawl, type Item } from '../../src/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
async function collectAll(items: AsyncIterable<Item>): Promise<void> {
  for await (const _item of items);
}

const EXAMPLES = ['books', 'quotes', 'api', 'sitemap', 'rules', 'structured-data'];

describe('spider contracts', () => {
  it('every example passes its contracts offline, against the recordings beside it', async () => {
    // Every undici request would show here; checking must not make one.
    let requests = 0;
    const count = () => requests++;
    diagnostics.subscribe('undici:request:create', count);
    try {
      for (const name of EXAMPLES) {
        const report = await checkSpider(join(ROOT, 'spiders', `${name}.ts`));
        expect(report.outcomes.map((o) => [name, o.callback, o.status, o.problems])).toEqual(
          report.outcomes.map((o) => [name, o.callback, 'passed', []]),
        );
        expect(report.outcomes.every((o) => !o.written)).toBe(true);
      }
    } finally {
      diagnostics.unsubscribe('undici:request:create', count);
    }
    expect(requests).toBe(0);
  });

  describe('recording', () => {
    let site: DemoSite;
    let changed: TestServer;
    let dir: string;
    let spider: string;
    beforeAll(async () => {
      site = await startDemoSite({ books: 40 });
      // The same shop after a redesign: the price lost its class.
      changed = await startServer(async (req, res) => {
        const answer = await fetch(new URL(req.url ?? '/', site.url));
        const body = (await answer.text()).replaceAll('price_color', 'price-now');
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/html' });
        res.end(body);
      });
      // Inside the package, so the copy's `import 'trawl'` resolves.
      dir = await mkdtemp(join(ROOT, 'test', 'tmp-contracts-'));
      spider = join(dir, 'books.ts');
      await copyFile(join(ROOT, 'spiders', 'books.ts'), spider);
    });
    afterAll(async () => {
      await Promise.all([site.close(), changed.close()]);
      await rm(dir, { recursive: true, force: true });
    });

    it('records from the demo site, then checks offline; a missing recording is reported', async () => {
      const before = await checkSpider(spider);
      expect(before.ok).toBe(false);
      expect(before.outcomes[0]!.problems[0]).toMatch(/nothing recorded yet: run trawl check .* --record/);
      const recorded = await checkSpider(spider, { record: true, start: [site.url] });
      expect(recorded.outcomes.map((o) => [o.callback, o.status, o.written])).toEqual([
        ['parse', 'passed', true],
        ['book', 'passed', true],
      ]);
      const stored = JSON.parse(await readFile(join(dir, 'recordings', 'books', 'book.json'), 'utf8'));
      expect(stored.response.body).toContain('price_color');
      expect((await checkSpider(spider)).ok).toBe(true);
    });

    it('a redesign fails the recording with a readable diff and keeps the good recording', async () => {
      const file = join(dir, 'recordings', 'books', 'book.json');
      const good = await readFile(file, 'utf8');
      const report = await checkSpider(spider, { record: true, start: [changed.url] });
      const book = report.outcomes.find((o) => o.callback === 'book')!;
      expect(book.status).toBe('failed');
      expect(book.problems).toEqual(['price must be above 0', 'output differs from the recording']);
      const price = JSON.parse(good).output.items[0].price;
      expect(book.diff.join('\n')).toContain(`  item 0 price:\n    - ${price}\n    + 0`);
      expect(await readFile(file, 'utf8')).toBe(good);
    });

    it('--from-cache records the sample pages a crawl with httpCache stored', async () => {
      const cached = join(dir, 'cached.ts');
      const book = site.books[3]!;
      const sample = new URL(`/catalogue/${book.slug}_${book.id}/index.html`, site.url).href;
      const source = await readFile(spider, 'utf8');
      await writeFile(
        cached,
        source.replace(/url: 'https:\/\/books\.toscrape\.com\/catalogue\/[^']*'/, `url: '${sample}'`),
      );
      const cache = join(dir, 'http-cache');
      await collectAll(crawl(cached, { start: [site.url], httpCache: cache, maxPages: 10, workers: 1 }));
      const report = await checkSpider(cached, { fromCache: cache });
      const outcomes = Object.fromEntries(report.outcomes.map((o) => [o.callback, o]));
      // parse's sample is on books.toscrape.com, which the cache never saw.
      expect(outcomes.parse).toMatchObject({
        status: 'missing',
        problems: [expect.stringContaining('no cached response for https://books.toscrape.com/')],
      });
      expect(outcomes.book).toMatchObject({ status: 'passed', url: sample, items: 1, written: true });
    });

    it('trawl check exits 1 with the diff when a recorded page changed, and 0 after --update', async () => {
      const file = join(dir, 'recordings', 'books', 'book.json');
      const recording = JSON.parse(await readFile(file, 'utf8'));
      recording.response.body = recording.response.body.replace('<h1>', '<h1>Signed: ');
      await writeFile(file, JSON.stringify(recording));
      const run = (...args: string[]) =>
        promisify(execFile)(process.execPath, [CLI, 'check', spider, ...args]).then(
          (r) => ({ code: 0, stdout: r.stdout }),
          (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
        );
      const failed = await run();
      expect(failed.code).toBe(1);
      expect(failed.stdout).toContain('FAIL    book');
      expect(failed.stdout).toContain('output differs from the recording');
      expect(failed.stdout).toMatch(/item 0 title:\n\s+- "The .*"\n\s+\+ "Signed: The .*"/);
      expect(failed.stdout).toContain('1 of 2 contracts do not hold');
      expect((await run('--update')).code).toBe(0);
      expect(await run()).toMatchObject({ code: 0, stdout: expect.stringContaining('all contracts hold') });
    });
  });
});
