/**
 * A deterministic demo site served on 127.0.0.1, for the quick start, the examples and the tests:
 * a book shop (paginated listings, 1,000 detail pages, categories, a few broken links and
 * redirects, a JSON API, a sitemap index of gzipped sitemaps), a quotes site behind a login form
 * (quotes.ts) and a product shop with structured data (products.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Answer, type DemoRequest, escapeHtml, parseCookies, slugOf } from './answer.js';
import { type DemoProduct, demoProducts, productGrid, productPage, productsApi } from './products.js';
import {
  type DemoQuote,
  demoQuotes,
  login,
  loginForm,
  quotesApi,
  quotesHome,
  type QuotesState,
  scrollPage,
} from './quotes.js';
import { type DemoEvent, demoEvents, demoFeed, type DemoFeedEntry, scriptedRoute } from './scripted.js';
import { categorySitemap, gzippedBookSitemap, sitemapIndex } from './sitemaps.js';

export type { DemoProduct } from './products.js';
export type { DemoQuote } from './quotes.js';
export type { DemoEvent, DemoFeedEntry } from './scripted.js';
export { bookLastmod } from './sitemaps.js';

export interface DemoBook {
  id: number;
  slug: string;
  title: string;
  price: number;
  rating: number;
  inStock: number;
  category: string;
  upc: string;
}

export interface DemoSite {
  url: string;
  books: readonly DemoBook[];
  /** The quotes behind the login of /quotes/login. */
  quotes: readonly DemoQuote[];
  /** The products of /shop/ and /api/products. */
  products: readonly DemoProduct[];
  /** The events of /js/events/N, inserted by script. */
  events: readonly DemoEvent[];
  /** The entries of /js/feed, loaded as the page scrolls. */
  feed: readonly DemoFeedEntry[];
  /** Requests served so far, by path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** Each example spider in spiders/ and the demo URL it starts from (for `trawl demo --serve`). */
export const DEMO_EXAMPLES: ReadonlyArray<{ spider: string; path: string; shows: string }> = [
  { spider: 'spiders/books.ts', path: '/', shows: 'listing pagination and detail pages' },
  {
    spider: 'spiders/quotes.ts',
    path: '/quotes/login',
    shows: 'login form with CSRF token, then JSON scroll pages',
  },
  { spider: 'spiders/api.ts', path: '/api/products', shows: 'paginated JSON API, page by page from --start' },
  { spider: 'spiders/sitemap.ts', path: '/robots.txt', shows: 'sitemap index with gzipped children' },
  { spider: 'spiders/rules.ts', path: '/', shows: 'link rules' },
  { spider: 'spiders/structured-data.ts', path: '/shop/', shows: 'JSON-LD and microdata of product pages' },
  { spider: 'spiders/rendered.ts', path: '/js/', shows: 'pages rendered in Chromium, infinite scroll' },
];

export interface DemoSiteOptions {
  /** @default 1000 */
  books?: number;
  /** Books per listing page. @default 20 */
  perPage?: number;
  /** Delay before each response, to make the crawl visible. @default 0 */
  latencyMs?: number;
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

const CATEGORIES = [
  'Travel',
  'Mystery',
  'Historical Fiction',
  'Poetry',
  'Science',
  'Romance',
  'Fantasy',
  'Philosophy',
  'Humor',
  'Music',
];
const WORDS = [
  'river',
  'shadow',
  'garden',
  'silent',
  'iron',
  'winter',
  'golden',
  'lost',
  'city',
  'night',
  'ocean',
  'paper',
  'crown',
  'glass',
  'forest',
  'stone',
  'letter',
  'secret',
  'summer',
  'machine',
];
const RATINGS = ['Zero', 'One', 'Two', 'Three', 'Four', 'Five'];

/** Missing detail pages linked from listings: they answer 404. */
const BROKEN_LINK_IDS = [100_001, 100_002, 100_003];

function demoBooks(count = 1000): DemoBook[] {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const books: DemoBook[] = [];
  for (let id = 1; id <= count; id++) {
    const words = [0, 1, 2].map(() => WORDS[Math.floor(random() * WORDS.length)]!);
    const title = `The ${words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ')} ${id}`;
    books.push({
      id,
      slug: title.toLowerCase().replaceAll(' ', '-'),
      title,
      price: Math.round((5 + random() * 55) * 100) / 100,
      rating: 1 + Math.floor(random() * 5),
      inStock: Math.floor(random() * 23),
      category: CATEGORIES[id % CATEGORIES.length]!,
      upc: (id * 2_654_435_761).toString(16).padStart(16, '0').slice(-16),
    });
  }
  return books;
}

/** What the shop serves its routes from; `origin` is known once the server listens. */
interface Shop {
  books: DemoBook[];
  byId: Map<number, DemoBook>;
  perPage: number;
  pages: number;
  origin: string;
  products: DemoProduct[];
  quotes: QuotesState;
  events: DemoEvent[];
  feed: DemoFeedEntry[];
}

export async function startDemoSite(options: DemoSiteOptions = {}): Promise<DemoSite> {
  const books = demoBooks(options.books ?? 1000);
  const perPage = options.perPage ?? 20;
  const shop: Shop = {
    books,
    byId: new Map(books.map((b) => [b.id, b])),
    perPage,
    pages: Math.ceil(books.length / perPage),
    origin: '',
    products: demoProducts(),
    quotes: { quotes: demoQuotes(), sessions: 0, loggedIn: new Set() },
    events: demoEvents(),
    feed: demoFeed(),
  };
  const hits = new Map<string, number>();

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const target = new URL(req.url ?? '/', 'http://demo');
    const path = target.pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    void readForm(req).then((form) => {
      const request: DemoRequest = {
        method: req.method ?? 'GET',
        query: target.searchParams,
        cookies: parseCookies(req.headers.cookie),
        form,
      };
      const answer = () => send(res, route(shop, path, request));
      if (options.latencyMs) setTimeout(answer, options.latencyMs);
      else answer();
    });
  };

  const server: Server = createServer(handler);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  shop.origin = `http://${address}:${port}`;
  return {
    url: `http://${address}:${port}/`,
    books,
    quotes: shop.quotes.quotes,
    products: shop.products,
    events: shop.events,
    feed: shop.feed,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A POST body as form fields (at most 64 KiB read); empty for other requests. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (req.method !== 'POST') return new URLSearchParams();
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) if (text.length < 65_536) text += chunk.toString();
  return new URLSearchParams(text);
}

function send(res: ServerResponse, { status, body, location, type, cookies }: Answer): void {
  const head = cookies ? { 'set-cookie': cookies } : {};
  if (location) {
    res.writeHead(status, { ...head, location });
    res.end();
    return;
  }
  const payload = body ?? '<!doctype html><title>Not found</title><h1>404 Not found</h1>';
  res.writeHead(status, {
    ...head,
    'content-type': type ?? 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** A route answers the paths its pattern matches; the first route that matches answers. */
type Route = [RegExp, (shop: Shop, match: RegExpExecArray, req: DemoRequest) => Answer];

const ROUTES: Route[] = [
  [/^\/(index\.html)?$/, (shop) => homePage(shop)],
  [/^\/robots\.txt$/, (shop) => robotsTxt(shop)],
  [/^\/sitemap\.xml$/, (shop) => sitemapIndex(shop.books, shop.origin)],
  [
    /^\/sitemaps\/books-(\d+)\.xml\.gz$/,
    (shop, m) => gzippedBookSitemap(shop.books, Number(m[1]), shop.origin),
  ],
  [/^\/sitemaps\/categories\.xml$/, (shop) => categorySitemap(CATEGORIES, shop.origin)],
  [/^\/quotes\/login$/, (shop, _m, req) => (req.method === 'POST' ? login : loginForm)(shop.quotes, req)],
  [/^\/quotes\/$/, (shop, _m, req) => quotesHome(shop.quotes, req)],
  [/^\/quotes\/scroll$/, () => scrollPage()],
  [/^\/quotes\/api\/quotes$/, (shop, _m, req) => quotesApi(shop.quotes, req)],
  [/^\/shop\/$/, (shop) => productGrid(shop.products, 1)],
  [/^\/shop\/page\/(\d+)\/$/, (shop, m) => productGrid(shop.products, Number(m[1]))],
  [/^\/shop\/product\/([\w-]+)\/$/, (shop, m) => productPage(shop.products, m[1]!, shop.origin)],
  [/^\/js\/(.*)$/, (shop, m, req) => scriptedRoute(m[1]!, req, shop)],
  [/^\/api\/products$/, (shop, _m, req) => productsApi(shop.products, req)],
  [/^\/api\/books$/, (shop, _m, req) => apiBookList(shop, req.query)],
  [/^\/api\/books\/(\d+)$/, (shop, m) => apiBook(shop, Number(m[1]))],
  [/^\/catalogue\/page-(\d+)\.html$/, (shop, m) => cataloguePage(shop, Number(m[1]))],
  [/^\/catalogue\/page-(\d+)$/, (_shop, m) => ({ status: 301, location: `/catalogue/page-${m[1]}.html` })],
  [
    /^\/catalogue\/category\/([\w-]+)\/page-(\d+)\.html$/,
    (shop, m) => categoryPage(shop, m[1]!, Number(m[2])),
  ],
  [/^\/catalogue\/[\w-]+_(\d+)\/index\.html$/, (shop, m) => bookPage(shop, Number(m[1]))],
];

function route(shop: Shop, path: string, req: DemoRequest): Answer {
  for (const [pattern, answer] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return answer(shop, match, req);
  }
  return { status: 404 };
}

function homePage(shop: Shop): Answer {
  return {
    status: 200,
    body: layout('Home', listing(shop.books.slice(0, shop.perPage), 1, shop.pages, '/catalogue/page')),
  };
}

function robotsTxt(shop: Shop): Answer {
  return {
    status: 200,
    body: `User-agent: *\nAllow: /\nSitemap: ${shop.origin}/sitemap.xml\n`,
    type: 'text/plain',
  };
}

function apiBookList(shop: Shop, query: URLSearchParams): Answer {
  const { books, perPage, pages } = shop;
  const page = Number(query.get('page') ?? '1');
  if (!Number.isInteger(page) || page < 1 || page > pages)
    return { status: 404, body: '{"error":"no such page"}', type: 'application/json' };
  const list = books
    .slice((page - 1) * perPage, page * perPage)
    .map((b) => ({ id: b.id, title: b.title, href: `/api/books/${b.id}` }));
  const next = page < pages ? `/api/books?page=${page + 1}` : null;
  return {
    status: 200,
    body: JSON.stringify({ page, pages, books: list, next }),
    type: 'application/json',
  };
}

function apiBook(shop: Shop, id: number): Answer {
  const book = shop.byId.get(id);
  if (!book) return { status: 404, body: '{"error":"no such book"}', type: 'application/json' };
  return { status: 200, body: JSON.stringify(book), type: 'application/json' };
}

function cataloguePage(shop: Shop, page: number): Answer {
  const { books, perPage, pages } = shop;
  if (page < 1 || page > pages) return { status: 404 };
  const start = (page - 1) * perPage;
  const broken =
    page % 17 === 7
      ? BROKEN_LINK_IDS.map(
          (id) =>
            `<article class="product_pod"><h3><a href="/catalogue/gone_${id}/index.html">Out of print</a></h3></article>`,
        ).join('')
      : '';
  return {
    status: 200,
    body: layout(
      `Page ${page}`,
      listing(books.slice(start, start + perPage), page, pages, '/catalogue/page', broken),
    ),
  };
}

function categoryPage(shop: Shop, slug: string, page: number): Answer {
  const category = CATEGORIES.find((c) => slugOf(c) === slug);
  if (!category) return { status: 404 };
  const inCategory = shop.books.filter((b) => b.category === category);
  const total = Math.max(1, Math.ceil(inCategory.length / shop.perPage));
  if (page < 1 || page > total) return { status: 404 };
  const slice = inCategory.slice((page - 1) * shop.perPage, page * shop.perPage);
  return {
    status: 200,
    body: layout(
      category,
      `<h1>${category}</h1>${listing(slice, page, total, `/catalogue/category/${slug}/page`)}`,
    ),
  };
}

function bookPage(shop: Shop, id: number): Answer {
  const book = shop.byId.get(id);
  if (!book) return { status: 404 };
  return {
    status: 200,
    body: layout(
      book.title,
      `<ul class="breadcrumb"><li><a href="/">Home</a></li><li><a href="/catalogue/category/${slugOf(book.category)}/page-1.html">${book.category}</a></li><li class="active">${escapeHtml(book.title)}</li></ul>
<article class="product_page"><h1>${escapeHtml(book.title)}</h1><p class="price_color">£${book.price.toFixed(2)}</p>
<p class="star-rating ${RATINGS[book.rating]}"></p><p class="instock availability">${book.inStock > 0 ? `In stock (${book.inStock} available)` : 'Out of stock'}</p>
<table class="table table-striped"><tr><th>UPC</th><td>${book.upc}</td></tr><tr><th>Availability</th><td>${book.inStock}</td></tr></table></article>`,
    ),
  };
}

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} | Trawl Books</title></head><body>
<header><a href="/">Trawl Books</a> <a href="https://example.com/partner">Partner shop</a> <a href="mailto:shop@example.com">Mail us</a></header>
<aside><ul class="categories">${CATEGORIES.map((c) => `<li><a href="/catalogue/category/${slugOf(c)}/page-1.html">${c}</a></li>`).join('')}</ul></aside>
<main>${body}</main></body></html>`;
}

function listing(list: DemoBook[], page: number, total: number, base: string, extra = ''): string {
  const pods = list
    .map(
      (
        b,
      ) => `<article class="product_pod"><h3><a href="/catalogue/${b.slug}_${b.id}/index.html#reviews" title="${escapeHtml(b.title)}">${escapeHtml(b.title)}</a></h3>
<p class="price_color">£${b.price.toFixed(2)}</p></article>`,
    )
    .join('\n');
  // Page 3's "next" goes through an old URL that redirects, as real shops do after a redesign.
  const nextHref =
    base === '/catalogue/page' && page === 3 ? '/catalogue/page-4' : `${base}-${page + 1}.html`;
  const next = page < total ? `<li class="next"><a href="${nextHref}">next</a></li>` : '';
  const prev = page > 1 ? `<li class="previous"><a href="${base}-${page - 1}.html">previous</a></li>` : '';
  return `<section><ol class="row">${pods}${extra}</ol><ul class="pager">${prev}<li class="current">Page ${page} of ${total}</li>${next}</ul></section>`;
}
