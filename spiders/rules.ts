/**
 * Link rules instead of hand-written follows, as with Scrapy's CrawlSpider: walk every category of
 * the demo shop with its pagination and scrape each book once. The main listing (/catalogue/page-N)
 * is never crawled, since no rule allows it. Run it against the demo shop with
 * `trawl crawl spiders/rules.ts --start http://127.0.0.1:8080/`.
 */
import { defineSpider } from 'trawl';

export default defineSpider({
  name: 'rules',
  startUrls: ['http://127.0.0.1:8080/'],
  settings: { perHost: { concurrency: 8 } },

  rules: [
    // Category pages and their "next" links. No callback, so the rules are applied to them again.
    {
      selector: 'ul.categories, ul.pager',
      allow: '/catalogue/category/*/page-*.html',
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
      category: $('.breadcrumb li').eq(1).text().trim(),
      foundOn: page.request.referrer,
    };
  },
});
