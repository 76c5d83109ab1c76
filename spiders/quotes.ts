/**
 * Logging in, then an infinite-scroll page read from its JSON API. Shows: a login form with a
 * hidden CSRF token submitted as a browser would (`page.submitForm` keeps the token and sends a
 * POST), the session cookie kept across requests (the `cookies` setting, on by default), and the
 * JSON pages an infinite-scroll page loads as the reader scrolls, followed until `has_next` is
 * false. Modelled on quotes.toscrape.com:
 *
 *   trawl crawl spiders/quotes.ts --start https://quotes.toscrape.com/login -o quotes.jsonl
 *   trawl demo --serve   # then --start http://127.0.0.1:PORT/quotes/login
 */
import { defineSpider } from 'trawl';

interface QuotesPage {
  has_next: boolean;
  page: number;
  quotes: Array<{ text: string; author: { name: string }; tags: string[] }>;
}

export default defineSpider({
  name: 'quotes',
  startUrls: ['https://quotes.toscrape.com/login'],
  settings: { perHost: { concurrency: 2 } },

  contracts: {
    parse: { url: 'https://quotes.toscrape.com/login', minRequests: 1, maxRequests: 1 },
    // loggedIn answers a POST, which is not recorded; the JSON pages after it are.
    quotes: { minItems: 10, minRequests: 1, fields: ['text', 'author'] },
  },

  *parse(page) {
    yield page.submitForm('form', {
      formdata: { username: 'scraper', password: 'secret' },
      callback: 'loggedIn',
    });
  },

  *loggedIn(page) {
    // A failed login lands back on the form (or an error page): fail loudly, not with zero items.
    if (page.$('a[href*="logout"]').length === 0)
      throw new Error(`login failed at ${page.url}: ${page.$('.error').text() || 'no logout link'}`);
    // The scroll page fetches api/quotes?page=N from the site root as the reader scrolls.
    yield page.follow('api/quotes?page=1', 'quotes');
  },

  *quotes(page) {
    const data = page.json<QuotesPage>();
    for (const quote of data.quotes) yield { text: quote.text, author: quote.author.name, tags: quote.tags };
    if (data.has_next) yield page.follow(`?page=${data.page + 1}`, 'quotes');
  },
});
