import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSite, startDemoSite } from '../../src/demo/site.js';
import { crawl, type Item } from '../../src/index.js';

const spider = (name: string) => fileURLToPath(new URL(`../../spiders/${name}`, import.meta.url));

async function collect(iterable: AsyncIterable<Item>): Promise<Item[]> {
  const items: Item[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('example spiders on the demo shop', () => {
  let site: DemoSite;
  beforeAll(async () => {
    site = await startDemoSite({ books: 300 });
  });
  afterAll(() => site.close());

  it('api.ts pages through the JSON API and fetches every record once', async () => {
    const items = await collect(crawl(spider('api.ts'), { start: [`${site.url}api/books`], workers: 1 }));
    expect(items).toHaveLength(site.books.length);
    const byId = new Map(items.map((i) => [i.id, i]));
    for (const book of site.books)
      expect(byId.get(book.id)).toEqual({
        id: book.id,
        title: book.title,
        price: book.price,
        category: book.category,
        upc: book.upc,
      });
  });

  it('sitemap.ts follows the sitemap index and scrapes every listed page', async () => {
    const items = await collect(
      crawl(spider('sitemap.ts'), { start: [`${site.url}sitemap.xml`], workers: 1 }),
    );
    expect(items).toHaveLength(site.books.length);
    expect(new Set(items.map((i) => i.title))).toEqual(new Set(site.books.map((b) => b.title)));
    expect(items.every((i) => typeof i.price === 'number' && i.price > 0)).toBe(true);
  });
});
