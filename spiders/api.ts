/**
 * A JSON API: page through a listing endpoint, then fetch each record. Callbacks that only call
 * `page.json()` never load cheerio. Try it with `trawl demo --serve` and
 * `trawl crawl spiders/api.ts --start http://127.0.0.1:PORT/api/books`.
 */
import { defineSpider } from 'trawl';

interface Listing {
  books: Array<{ id: number; href: string }>;
  next: string | null;
}

interface Book {
  id: number;
  title: string;
  price: number;
  rating: number;
  inStock: number;
  category: string;
  upc: string;
}

export default defineSpider({
  name: 'api',
  startUrls: ['http://127.0.0.1:8080/api/books'],
  settings: { perHost: { concurrency: 8 } },

  *parse(page) {
    const listing = page.json<Listing>();
    for (const book of listing.books) yield page.follow(book.href, 'record', { userData: { id: book.id } });
    if (listing.next) yield page.follow(listing.next);
  },

  *record(page) {
    const book = page.json<Book>();
    yield { id: book.id, title: book.title, price: book.price, category: book.category, upc: book.upc };
  },
});
