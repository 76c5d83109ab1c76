/**
 * The first spider to copy: listing pages with "next" pagination, then one detail page per book.
 * Shows: `followAll` on a selector, one callback per page type, numbers and ratings cleaned into
 * typed fields. Modelled on books.toscrape.com:
 *
 *   trawl crawl spiders/books.ts --start https://books.toscrape.com/ -o books.jsonl
 *   npm run example      # the same spider on the bundled demo shop
 */
import { defineSpider } from 'trawl';

const RATINGS: Record<string, number> = { One: 1, Two: 2, Three: 3, Four: 4, Five: 5 };

export default defineSpider({
  name: 'books',
  startUrls: ['https://books.toscrape.com/'],
  settings: { perHost: { concurrency: 8 } },

  // `trawl check spiders/books.ts` runs these against spiders/recordings/books/, offline.
  contracts: {
    parse: { url: 'https://books.toscrape.com/', minRequests: 21 },
    book: {
      url: 'https://books.toscrape.com/catalogue/a-light-in-the-attic_1000/index.html',
      minItems: 1,
      maxItems: 1,
      fields: ['title', 'price', 'upc', 'category'],
      check: ({ items }) => (items.every((i) => Number(i.price) > 0) ? undefined : 'price must be above 0'),
    },
  },

  *parse(page) {
    yield* page.followAll('article.product_pod h3 a', 'book');
    const next = page.$('li.next a').attr('href');
    if (next) yield page.follow(next);
  },

  *book(page) {
    const $ = page.$;
    const price = $('.product_page .price_color').first().text();
    const stock = /\((\d+) available\)/.exec($('.availability').text());
    yield {
      url: page.url,
      title: $('.product_page h1').text().trim(),
      price: Number(price.replace(/[^\d.]/g, '')),
      currency: price.startsWith('£') ? 'GBP' : undefined,
      rating: RATINGS[($('.star-rating').attr('class') ?? '').replace('star-rating', '').trim()] ?? 0,
      inStock: stock ? Number(stock[1]) : 0,
      // The last linked crumb: Home > (Books >) Category > title.
      category: $('.breadcrumb li:not(.active)').last().text().trim(),
      upc: $('th:contains("UPC") + td').text().trim(),
    };
  },
});
