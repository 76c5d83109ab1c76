import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSite, startDemoSite } from '../../src/demo/site.js';
import { crawl } from '../../src/pipeline/crawl.js';
import type { FailureRecord, Item } from '../../src/types.js';

const SPIDER = fileURLToPath(new URL('../../spiders/rules.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const CATEGORIES = 10;

describe('spiders/rules.ts against the demo shop', () => {
  let site: DemoSite;
  beforeAll(async () => {
    site = await startDemoSite({ books: 120, perPage: 5 });
  });
  afterAll(() => site.close());

  it('walks every category with its pagination and scrapes each book once, through rules alone', async () => {
    const job = crawl(SPIDER, { start: [site.url], workers: 2 });
    const failures: FailureRecord[] = [];
    job.events.on('failure', (f) => failures.push(f));
    const items: Item[] = [];
    for await (const item of job) items.push(item);

    expect(failures).toEqual([]);
    expect(items).toHaveLength(site.books.length);
    const byUrl = new Map(items.map((i) => [new URL(String(i.url)).pathname, i]));
    for (const book of site.books) {
      const item = byUrl.get(`/catalogue/${book.slug}_${book.id}/index.html`);
      expect(item).toEqual(
        expect.objectContaining({ title: book.title, price: book.price, category: book.category }),
      );
    }
    const paths = [...site.hits.keys()];
    // 12 books per category at 5 a page: 3 pages each, reached through the "next" links.
    expect(paths.filter((p) => p.startsWith('/catalogue/category/'))).toHaveLength(CATEGORIES * 3);
    // No rule allows the main listing, and the gone_ links are denied.
    expect(paths.filter((p) => /^\/catalogue\/page-/.test(p))).toEqual([]);
    expect(paths.filter((p) => p.includes('gone_'))).toEqual([]);
  });

  it('runs from the CLI', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'crawl', SPIDER, '--start', site.url, '-o', '-', '--no-progress', '--log-level', 'error'],
      { timeout: 60_000 },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{"url"'));
    expect(lines).toHaveLength(site.books.length);
  });
});
