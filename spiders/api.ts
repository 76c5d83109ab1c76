/**
 * A paginated JSON API (limit/skip, with the total in each answer). Shows: an async `start()`
 * generator that asks the API once for its total and then yields every page's request up front,
 * so the pages are fetched in parallel, stopping at the last page; callbacks that only call
 * `page.json()` never load cheerio. With `--start`, start() is skipped and the spider walks the
 * pages one after another from the URL given. Modelled on dummyjson.com:
 *
 *   trawl crawl spiders/api.ts --start 'https://dummyjson.com/products?limit=30' -o products.jsonl
 *   trawl demo --serve   # then --start http://127.0.0.1:PORT/api/products
 */
import { defineSpider, fetchPage } from 'trawl';

interface Listing {
  products: Array<{ id: number; title: string; price: number; sku: string; category: string }>;
  total: number;
  skip: number;
  limit: number;
}

const PAGE_SIZE = 30;

/** The listing URL for one page of `limit` records from `skip` on. */
function pageUrl(base: string, skip: number, limit: number): string {
  const url = new URL(base);
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('skip', String(skip));
  return url.href;
}

export default defineSpider({
  name: 'api',
  startUrls: ['https://dummyjson.com/products'],
  settings: { perHost: { concurrency: 4 } },

  contracts: {
    parse: {
      url: 'https://dummyjson.com/products?limit=30&skip=0',
      minItems: 1,
      fields: ['id', 'title', 'price'],
    },
  },

  async *start() {
    for (const entry of this.startUrls ?? []) {
      const base = typeof entry === 'string' ? entry : entry.url;
      const first = await fetchPage(pageUrl(base, 0, PAGE_SIZE));
      const { total } = JSON.parse(first.text) as Listing;
      for (let skip = 0; skip < total; skip += PAGE_SIZE) yield pageUrl(base, skip, PAGE_SIZE);
    }
  },

  *parse(page) {
    const listing = page.json<Listing>();
    for (const p of listing.products)
      yield { id: p.id, title: p.title, price: p.price, sku: p.sku, category: p.category };
    // Reached by --start (not from start()): walk on to the next page until the total.
    const next = listing.skip + listing.limit;
    if (listing.products.length > 0 && next < listing.total)
      yield page.follow(pageUrl(page.url, next, listing.limit));
  },
});
