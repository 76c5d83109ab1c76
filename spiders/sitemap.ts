/**
 * A sitemap crawl: start at /sitemap.xml, follow nested sitemap indexes, scrape every page listed.
 * Try it with `trawl demo --serve` and
 * `trawl crawl spiders/sitemap.ts --start http://127.0.0.1:PORT/sitemap.xml`.
 */
import { defineSpider } from 'trawl';

export default defineSpider({
  name: 'sitemap',
  startUrls: ['http://127.0.0.1:8080/sitemap.xml'],
  settings: { perHost: { concurrency: 8 } },

  *parse(page) {
    const $ = page.$;
    // A sitemap index lists more sitemaps; a urlset lists pages.
    for (const loc of $('sitemap > loc').toArray()) yield page.follow($(loc).text().trim());
    for (const loc of $('url > loc').toArray()) yield page.follow($(loc).text().trim(), 'book');
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
    };
  },
});
