/**
 * A crawl driven by sitemaps instead of links. Shows: `sitemapFromRobots` (the `Sitemap:` lines of
 * robots.txt), a sitemap index whose children are gzipped (`.xml.gz`, served as application/gzip
 * or application/x-gzip), `sitemapRules` sending book pages and category pages to different
 * callbacks, and the `lastmod` of each URL handed to the callback. Set `sitemapSince` to crawl only
 * what changed since a date. Modelled on a shop that publishes its sitemaps this way (the demo
 * shop mirrors books.toscrape.com's pages):
 *
 *   trawl crawl spiders/sitemap.ts --start https://SHOP/robots.txt -o books.jsonl
 *   trawl demo --serve   # then --start http://127.0.0.1:PORT/robots.txt
 */
import { defineSpider } from 'trawl';

export default defineSpider({
  name: 'sitemap',
  startUrls: ['https://books.toscrape.com/'],
  sitemapFromRobots: true,
  sitemapRules: [
    { allow: '/catalogue/category/**', callback: 'category' },
    { allow: '/catalogue/*/index.html', callback: 'book' },
  ],
  settings: { perHost: { concurrency: 8 } },

  contracts: {
    book: { minItems: 1, maxItems: 1, fields: ['title', 'price'] },
    category: { minItems: 1, maxItems: 1, fields: ['category', 'pages'] },
  },

  *book(page) {
    const $ = page.$;
    yield {
      url: page.url,
      title: $('.product_page h1').text().trim(),
      price: Number(
        $('.product_page .price_color')
          .first()
          .text()
          .replace(/[^\d.]/g, ''),
      ),
      lastmod: page.request.userData.lastmod,
    };
  },

  *category(page) {
    yield {
      url: page.url,
      category: page.$('main h1').text().trim(),
      pages: Number(/of (\d+)/.exec(page.$('.pager .current').text())?.[1] ?? 1),
    };
  },
});
