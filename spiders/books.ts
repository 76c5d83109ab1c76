/**
 * Listing pages with pagination, then one detail page per book. Run it against the bundled demo
 * shop with `npm run example`, or against any copy with `trawl crawl spiders/books.ts --start URL`.
 */
import { defineSpider } from 'trawl';

const RATINGS: Record<string, number> = { One: 1, Two: 2, Three: 3, Four: 4, Five: 5 };

export default defineSpider({
  name: 'books',
  startUrls: ['http://127.0.0.1:8080/'],
  settings: { perHost: { concurrency: 8 } },

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
      category: $('.breadcrumb li').eq(1).text().trim(),
      upc: $('th:contains("UPC") + td').text().trim(),
    };
  },
});
