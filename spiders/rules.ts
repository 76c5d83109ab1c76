/**
 * Link rules instead of hand-written follows, as with Scrapy's CrawlSpider. Shows: rules with a
 * CSS scope, allow globs and a deny RegExp; a rule without a callback that is followed further
 * (category pages and their pagination) and one that hands pages to a callback (books). The main
 * listing (/catalogue/page-N) is never crawled, since no rule allows it. Modelled on
 * books.toscrape.com (its sidebar is `.side_categories`, the demo's `ul.categories`):
 *
 *   trawl crawl spiders/rules.ts --start https://books.toscrape.com/ -o books.jsonl
 *   trawl demo --serve   # then --start http://127.0.0.1:PORT/
 */
import { defineSpider } from 'trawl';

export default defineSpider({
  name: 'rules',
  startUrls: ['https://books.toscrape.com/'],
  settings: { perHost: { concurrency: 8 } },

  contracts: {
    book: {
      url: 'https://books.toscrape.com/catalogue/a-light-in-the-attic_1000/index.html',
      minItems: 1,
      fields: ['title', 'price', 'category'],
    },
  },

  rules: [
    // Category pages and their "next" links. No callback, so the rules are applied to them again.
    {
      selector: 'ul.categories, .side_categories, ul.pager',
      allow: '/catalogue/category/**',
    },
    // Book pages listed in the product grid; links into the shop's own listings are not books.
    {
      selector: 'article.product_pod h3',
      allow: '/catalogue/*_*/index.html',
      deny: /\/catalogue\/(category|gone_)/,
      callback: 'book',
    },
  ],

  *book(page) {
    const $ = page.$;
    yield {
      url: page.url,
      title: $('.product_page h1').text().trim(),
      price: Number(
        $('.product_page .price_color')
          .text()
          .replace(/[^\d.]/g, ''),
      ),
      category: $('.breadcrumb li:not(.active)').last().text().trim(),
      foundOn: page.request.referrer,
    };
  },
});
