import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookLastmod, type DemoSite, startDemoSite } from '../../src/demo/site.js';
import { crawl, type CrawlOptions, type FailureRecord, type Item, type Spider } from '../../src/index.js';
import apiSpider from '../../spiders/api.js';
import sitemapSpider from '../../spiders/sitemap.js';

const spider = (name: string) => fileURLToPath(new URL(`../../spiders/${name}`, import.meta.url));

async function run(source: string | Spider, options: CrawlOptions) {
  const job = crawl(source, { workers: 1, ...options });
  const failures: FailureRecord[] = [];
  job.events.on('failure', (f) => failures.push(f));
  const items: Item[] = [];
  for await (const item of job) items.push(item);
  return { items, failures };
}

const byKey = (key: string) => (a: Item, b: Item) => String(a[key]).localeCompare(String(b[key]));

describe('example spiders on the demo site', () => {
  let site: DemoSite;
  const url = (path: string) => new URL(path, site.url).href;
  const bookUrl = (b: DemoSite['books'][number]) => url(`/catalogue/${b.slug}_${b.id}/index.html`);
  beforeAll(async () => {
    // 300 books: two gzipped book sitemaps of 250, one served as application/gzip, one as x-gzip.
    site = await startDemoSite({ books: 300 });
  });
  afterAll(() => site.close());

  it('books.ts follows the pagination and scrapes every detail page', async () => {
    const { items, failures } = await run(spider('books.ts'), { start: [site.url] });
    const expected = site.books.map((b) => ({
      url: bookUrl(b),
      title: b.title,
      price: b.price,
      currency: 'GBP',
      rating: b.rating,
      inStock: b.inStock,
      category: b.category,
      upc: b.upc,
    }));
    expect(items.sort(byKey('url'))).toEqual(expected.sort(byKey('url')));
    // The listings link three out-of-print books that answer 404.
    expect(failures.map((f) => f.status)).toEqual([404, 404, 404]);
  });

  it('quotes.ts logs in through the CSRF form and reads every JSON scroll page', async () => {
    const { items, failures } = await run(spider('quotes.ts'), { start: [url('/quotes/login')] });
    expect(failures).toEqual([]);
    expect(items).toEqual(site.quotes.map((q) => ({ text: q.text, author: q.author, tags: q.tags })));
    expect(site.hits.get('/quotes/api/quotes')).toBe(5);
  });

  it('the demo login refuses a POST without the CSRF token of its session', async () => {
    const answer = await fetch(url('/quotes/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=a&password=b&csrf_token=guess',
    });
    expect(answer.status).toBe(403);
    expect(await answer.text()).toContain('Invalid CSRF token');
  });

  const products = () =>
    site.products.map((p) => ({ id: p.id, title: p.name, price: p.price, sku: p.sku, category: p.category }));

  it('api.ts walks the API from start(), every page queued up front, stopping at the last', async () => {
    const before = site.hits.get('/api/products') ?? 0;
    const { items, failures } = await run({ ...apiSpider, startUrls: [url('/api/products')] }, {});
    expect(failures).toEqual([]);
    expect(items.sort((a, b) => Number(a.id) - Number(b.id))).toEqual(products());
    // 24 products at 30 a page: the total asked once, then the one page.
    expect((site.hits.get('/api/products') ?? 0) - before).toBe(2);
  });

  it('api.ts with --start walks the pages one after another', async () => {
    const { items } = await run(spider('api.ts'), { start: [url('/api/products?limit=5')] });
    expect(items.sort((a, b) => Number(a.id) - Number(b.id))).toEqual(products());
  });

  it('sitemap.ts reads robots.txt, the index and its gzipped children, with rules per page type', async () => {
    const { items, failures } = await run(spider('sitemap.ts'), { start: [url('/robots.txt')] });
    expect(failures).toEqual([]);
    const books = site.books.map((b) => ({
      url: bookUrl(b),
      title: b.title,
      price: b.price,
      lastmod: bookLastmod(b.id),
    }));
    const categories = items.filter((i) => 'category' in i);
    expect(items.filter((i) => 'title' in i).sort(byKey('url'))).toEqual(books.sort(byKey('url')));
    expect(categories.sort(byKey('category')).map((c) => [c.category, c.pages])).toEqual([
      ['Fantasy', 2],
      ['Historical Fiction', 2],
      ['Humor', 2],
      ['Music', 2],
      ['Mystery', 2],
      ['Philosophy', 2],
      ['Poetry', 2],
      ['Romance', 2],
      ['Science', 2],
      ['Travel', 2],
    ]);
    expect(site.hits.get('/sitemaps/books-1.xml.gz')).toBe(1);
    expect(site.hits.get('/sitemaps/books-2.xml.gz')).toBe(1);
  });

  it('sitemap.ts with sitemapSince crawls only the pages changed since then', async () => {
    const since = '2024-12-01';
    const { items } = await run({ ...sitemapSpider, sitemapSince: since }, { start: [url('/robots.txt')] });
    const changed = site.books.filter((b) => bookLastmod(b.id) >= since);
    expect(changed.length).toBeGreaterThan(0);
    expect(
      items
        .filter((i) => 'title' in i)
        .map((i) => i.url)
        .sort(),
    ).toEqual(changed.map(bookUrl).sort());
  });

  it('structured-data.ts reads JSON-LD, and microdata where a page has none', async () => {
    const { items, failures } = await run(spider('structured-data.ts'), { start: [url('/shop/')] });
    expect(failures).toEqual([]);
    const expected = site.products.map((p) => ({
      url: url(`/shop/product/${p.slug}/`),
      name: p.name,
      sku: p.sku,
      price: p.price,
      currency: 'USD',
      availability: p.inStock ? 'InStock' : 'OutOfStock',
      source: p.id % 2 === 0 ? 'json-ld' : 'microdata',
    }));
    expect(items.sort(byKey('url'))).toEqual(expected.sort(byKey('url')));
  });
});
