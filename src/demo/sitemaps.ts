/**
 * The demo shop's sitemaps, as a large shop publishes them: robots.txt names a sitemap index whose
 * children are gzipped sitemaps of the book pages (served as application/gzip and
 * application/x-gzip, as servers do) and a plain sitemap of the category pages, with `lastmod`
 * everywhere.
 */
import { gzipSync } from 'node:zlib';
import { type Answer, slugOf } from './answer.js';

export interface SitemapBook {
  id: number;
  slug: string;
}

/** Book pages per gzipped sitemap. */
const BOOKS_PER_SITEMAP = 250;
const NS = 'http://www.sitemaps.org/schemas/sitemap/0.9';
const DAY_MS = 86_400_000;

/** When book `id` last changed: a day of 2024, spread over the year. */
export function bookLastmod(id: number): string {
  return new Date(Date.UTC(2024, 0, 1) + ((id * 7) % 366) * DAY_MS).toISOString().slice(0, 10);
}

const latest = (dates: string[]) => dates.reduce((a, b) => (a > b ? a : b), '2024-01-01');

export function sitemapIndex(books: readonly SitemapBook[], origin: string): Answer {
  const parts = Math.ceil(books.length / BOOKS_PER_SITEMAP);
  const entries = Array.from({ length: parts }, (_, i) => {
    const part = books.slice(i * BOOKS_PER_SITEMAP, (i + 1) * BOOKS_PER_SITEMAP);
    const lastmod = latest(part.map((b) => bookLastmod(b.id)));
    return `<sitemap><loc>${origin}/sitemaps/books-${i + 1}.xml.gz</loc><lastmod>${lastmod}</lastmod></sitemap>`;
  });
  entries.unshift(`<sitemap><loc>${origin}/sitemaps/categories.xml</loc></sitemap>`);
  return {
    status: 200,
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="${NS}">\n${entries.join('\n')}\n</sitemapindex>`,
    type: 'application/xml',
  };
}

export function gzippedBookSitemap(books: readonly SitemapBook[], n: number, origin: string): Answer {
  const part = books.slice((n - 1) * BOOKS_PER_SITEMAP, n * BOOKS_PER_SITEMAP);
  if (part.length === 0) return { status: 404 };
  const urls = part.map(
    (b) =>
      `<url><loc>${origin}/catalogue/${b.slug}_${b.id}/index.html</loc><lastmod>${bookLastmod(b.id)}</lastmod></url>`,
  );
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="${NS}">\n${urls.join('\n')}\n</urlset>`;
  return { status: 200, body: gzipSync(xml), type: n % 2 ? 'application/gzip' : 'application/x-gzip' };
}

export function categorySitemap(categories: readonly string[], origin: string): Answer {
  const urls = categories.map(
    (c) => `<url><loc>${origin}/catalogue/category/${slugOf(c)}/page-1.html</loc></url>`,
  );
  return {
    status: 200,
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="${NS}">\n${urls.join('\n')}\n</urlset>`,
    type: 'text/xml; charset=utf-8',
  };
}
