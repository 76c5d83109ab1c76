// The spiders `trawl new` writes. Each runs against the demo shop (`trawl demo --serve` listens on
// 127.0.0.1:8080, where their start URLs point) and against a real site once its selectors fit.

export const TEMPLATES = ['basic', 'rules', 'sitemap', 'api', 'login'] as const;
export type Template = (typeof TEMPLATES)[number];

const BOOK = `  *book(page) {
    const $ = page.$;
    yield {
      url: page.url,
      title: $('.product_page h1').text().trim(),
      price: Number($('.product_page .price_color').first().text().replace(/[^\\d.]/g, '')),
      category: $('.breadcrumb li').eq(1).text().trim(),
    };
  },`;

const HEADER = (name: string, what: string, start: string) => `/**
 * ${what}
 * Try it: \`trawl demo --serve\` in one terminal, then \`trawl crawl spiders/${name}.ts -o ${name}.jsonl\`.
 * Against another site: \`trawl crawl spiders/${name}.ts --start ${start.replace('127.0.0.1:8080', 'example.com')}\`.
 */
import { defineSpider } from 'trawl';
`;

const BODIES: Record<Template, (name: string) => string> = {
  basic: (
    name,
  ) => `${HEADER(name, 'Listing pages with pagination, then one detail page per item.', 'http://127.0.0.1:8080/')}
export default defineSpider({
  name: '${name}',
  startUrls: ['http://127.0.0.1:8080/'],
  settings: { perHost: { concurrency: 4 } },

  *parse(page) {
    yield* page.followAll('article.product_pod h3 a', 'book');
    const next = page.$('li.next a').attr('href');
    if (next) yield page.follow(next);
  },

${BOOK}
});
`,
  rules: (
    name,
  ) => `${HEADER(name, 'Link rules instead of hand-written follows (as a Scrapy CrawlSpider): categories and their pages, then each book.', 'http://127.0.0.1:8080/')}
export default defineSpider({
  name: '${name}',
  startUrls: ['http://127.0.0.1:8080/'],
  settings: { perHost: { concurrency: 4 } },

  rules: [
    { selector: 'ul.categories, ul.pager', allow: '/catalogue/category/*/page-*.html' },
    {
      selector: 'article.product_pod h3',
      allow: '/catalogue/*_*/index.html',
      deny: /\\/catalogue\\/(category|gone_)/,
      callback: 'book',
    },
  ],

${BOOK}
});
`,
  sitemap: (
    name,
  ) => `${HEADER(name, 'A sitemap crawl: /sitemap.xml, its nested sitemaps, then every page listed.', 'http://127.0.0.1:8080/sitemap.xml')}
export default defineSpider({
  name: '${name}',
  startUrls: ['http://127.0.0.1:8080/sitemap.xml'],
  settings: { perHost: { concurrency: 4 } },

  *parse(page) {
    const $ = page.$;
    for (const loc of $('sitemap > loc').toArray()) yield page.follow($(loc).text().trim());
    for (const loc of $('url > loc').toArray()) yield page.follow($(loc).text().trim(), 'book');
  },

${BOOK}
});
`,
  api: (
    name,
  ) => `${HEADER(name, 'A JSON API: page through a listing endpoint, then fetch each record.', 'http://127.0.0.1:8080/api/books')}
interface Listing {
  books: Array<{ id: number; href: string }>;
  next: string | null;
}

export default defineSpider({
  name: '${name}',
  startUrls: ['http://127.0.0.1:8080/api/books'],
  settings: { perHost: { concurrency: 4 } },

  *parse(page) {
    const listing = page.json<Listing>();
    for (const book of listing.books) yield page.follow(book.href, 'record');
    if (listing.next) yield page.follow(listing.next);
  },

  *record(page) {
    const book = page.json<{ id: number; title: string; price: number; category: string }>();
    yield { id: book.id, title: book.title, price: book.price, category: book.category };
  },
});
`,
  login: (
    name,
  ) => `${HEADER(name, 'Log in through a form (its hidden CSRF field included), then crawl pages only a member sees.', 'http://127.0.0.1:8080/login')}
export default defineSpider({
  name: '${name}',
  startUrls: ['http://127.0.0.1:8080/login'],
  // The session cookie the login sets is kept and sent back (cookies: true is the default).
  settings: { perHost: { concurrency: 2 }, cookies: true },

  *parse(page) {
    // Fills the form's fields as the browser would (hidden ones too) and submits it.
    yield page.submitForm('form#login', { formdata: { username: 'demo', password: 'demo' }, callback: 'account' });
  },

  *account(page) {
    if (!page.$('.logged-in').length) {
      page.log.error('login failed', { url: page.url });
      return;
    }
    yield* page.followAll('ul.orders a', 'order');
  },

  *order(page) {
    const $ = page.$;
    yield { url: page.url, order: $('h1').text().trim(), total: $('.total').text().trim() };
  },
});
`,
};

export function spiderSource(template: Template, name: string): string {
  return BODIES[template](name);
}
