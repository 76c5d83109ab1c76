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
      category: $('.breadcrumb li:not(.active)').last().text().trim(),
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
  ) => `${HEADER(name, 'A sitemap crawl: the framework reads /sitemap.xml and its nested (gzipped) sitemaps; sitemapRules send each listed URL to a callback.', 'http://127.0.0.1:8080/sitemap.xml')}
export default defineSpider({
  name: '${name}',
  sitemapUrls: ['http://127.0.0.1:8080/sitemap.xml'],
  // First match wins; URLs no rule matches are not fetched.
  sitemapRules: [{ allow: '/catalogue/*/index.html', callback: 'book' }],
  settings: { perHost: { concurrency: 4 } },

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
  ) => `${HEADER(name, 'Log in through a form (its hidden CSRF field included), then read the JSON pages only a logged-in user gets.', 'http://127.0.0.1:8080/quotes/login')}
interface QuotesPage {
  has_next: boolean;
  page: number;
  quotes: Array<{ text: string; author: { name: string }; tags: string[] }>;
}

export default defineSpider({
  name: '${name}',
  startUrls: ['http://127.0.0.1:8080/quotes/login'],
  // The session cookie the login sets is kept and sent back (cookies: true is the default).
  settings: { perHost: { concurrency: 2 } },

  *parse(page) {
    // Fills the form as a browser would (the hidden CSRF token too) and POSTs it.
    yield page.submitForm('form', { formdata: { username: 'demo', password: 'demo' }, callback: 'loggedIn' });
  },

  *loggedIn(page) {
    if (page.$('a[href*="logout"]').length === 0) throw new Error(\`login failed at \${page.url}\`);
    yield page.follow('api/quotes?page=1', 'quotes');
  },

  *quotes(page) {
    const data = page.json<QuotesPage>();
    for (const q of data.quotes) yield { text: q.text, author: q.author.name, tags: q.tags };
    if (data.has_next) yield page.follow(\`api/quotes?page=\${data.page + 1}\`, 'quotes');
  },
});
`,
};

export function spiderSource(template: Template, name: string): string {
  return BODIES[template](name);
}
