import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyTooLargeError, crawl, defineSpider, type Item, type Spider } from '../../src/index.js';
import { readSitemap, type SitemapEntry } from '../../src/sitemap/read-sitemap.js';
import { startServer, type TestServer } from '../helpers/server.js';

const LIMITS = { maxBytes: 10 * 1024 * 1024, maxEntries: 50_000 };

async function entriesOf(body: string | Uint8Array, limits = LIMITS) {
  const entries: SitemapEntry[] = [];
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const summary = await readSitemap(bytes, (e) => entries.push(e), limits);
  return { entries, summary };
}

describe('readSitemap', () => {
  it('reads a urlset with lastmod and hreflang alternates, skipping image locs', async () => {
    const { entries, summary } = await entriesOf(`<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1" xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <url><loc> https://a.test/one?x=1&amp;y=2 </loc><lastmod>2024-05-01</lastmod>
    <image:image><image:loc>https://a.test/one.jpg</image:loc></image:image>
    <xhtml:link rel="alternate" hreflang="de" href="https://a.test/de/one"/></url>
  <url><loc>https://a.test/two</loc></url>
</urlset>`);
    expect(summary).toMatchObject({ format: 'urlset', gzipped: false, entries: 2, overLimit: 0 });
    expect(entries).toEqual([
      {
        kind: 'url',
        loc: 'https://a.test/one?x=1&y=2',
        lastmod: '2024-05-01',
        alternates: ['https://a.test/de/one'],
      },
      { kind: 'url', loc: 'https://a.test/two' },
    ]);
  });

  it('reads prefixed elements and the old Google namespace as the same sitemap', async () => {
    const { entries } = await entriesOf(
      `<sm:sitemapindex xmlns:sm="http://www.google.com/schemas/sitemap/0.84"><sm:sitemap><sm:loc>https://a.test/s1.xml.gz</sm:loc><sm:lastmod>2024-01-02T10:00:00+00:00</sm:lastmod></sm:sitemap></sm:sitemapindex>`,
    );
    expect(entries).toEqual([
      { kind: 'sitemap', loc: 'https://a.test/s1.xml.gz', lastmod: '2024-01-02T10:00:00+00:00' },
    ]);
  });

  it('reads plain-text, RSS and Atom sitemaps', async () => {
    const text = await entriesOf('\uFEFFhttps://a.test/1\r\n\nnot a url\nhttps://a.test/2');
    expect(text.summary.format).toBe('text');
    expect(text.entries.map((e) => e.loc)).toEqual(['https://a.test/1', 'https://a.test/2']);
    const rss = await entriesOf(
      `<rss version="2.0"><channel><link>https://a.test/</link><item><link>https://a.test/post</link><pubDate>Tue, 10 Jun 2024 04:00:00 GMT</pubDate></item></channel></rss>`,
    );
    expect(rss.entries).toEqual([
      { kind: 'url', loc: 'https://a.test/post', lastmod: 'Tue, 10 Jun 2024 04:00:00 GMT' },
    ]);
    const atom = await entriesOf(
      `<feed xmlns="http://www.w3.org/2005/Atom"><link href="https://a.test/"/><entry><link rel="alternate" href="https://a.test/e1"/><updated>2024-06-01T00:00:00Z</updated></entry></feed>`,
    );
    expect(atom.entries).toEqual([
      { kind: 'url', loc: 'https://a.test/e1', lastmod: '2024-06-01T00:00:00Z' },
    ]);
  });

  it('decompresses a gzipped sitemap and stops a gzip bomb at the cap', async () => {
    const urls = Array.from({ length: 3 }, (_, i) => `<url><loc>https://a.test/${i}</loc></url>`).join('');
    const small = await entriesOf(gzipSync(`<urlset>${urls}</urlset>`));
    expect(small.summary).toMatchObject({ gzipped: true, entries: 3 });
    // 64 MiB of whitespace inside a urlset compresses to about 64 KiB.
    const bomb = gzipSync(Buffer.concat([Buffer.from('<urlset>'), Buffer.alloc(64 * 1024 * 1024, 0x20)]));
    expect(bomb.length).toBeLessThan(200_000);
    await expect(entriesOf(bomb, { maxBytes: 1024 * 1024, maxEntries: 50_000 })).rejects.toThrow(
      BodyTooLargeError,
    );
  });

  it('hands out at most maxEntries entries and counts the rest', async () => {
    const urls = Array.from({ length: 12 }, (_, i) => `https://a.test/${i}`).join('\n');
    const { entries, summary } = await entriesOf(urls, { maxBytes: 1e6, maxEntries: 10 });
    expect(entries).toHaveLength(10);
    expect(summary.overLimit).toBe(2);
  });
});

/** A site whose robots.txt names a sitemap index of gzipped and plain sitemaps. */
function sitemapSite(hits: string[]) {
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.push(path);
    const origin = `http://${req.headers.host}`;
    const xml = (type: string, body: string | Buffer) => {
      res.writeHead(200, { 'content-type': type });
      res.end(body);
    };
    if (path === '/robots.txt')
      return xml('text/plain', `User-agent: *\nDisallow: /private/\nSitemap: ${origin}/index.xml\n`);
    if (path === '/index.xml')
      return xml(
        'application/xml',
        `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>${origin}/books.xml.gz</loc><lastmod>2024-06-01</lastmod></sitemap>
<sitemap><loc>${origin}/old.xml.gz</loc><lastmod>2020-01-01</lastmod></sitemap>
<sitemap><loc>${origin}/pages.xml</loc></sitemap></sitemapindex>`,
      );
    if (path === '/books.xml.gz' || path === '/old.xml.gz') {
      const name = path.slice(1, -7);
      const urls = [1, 2, 3]
        .map((i) => `<url><loc>${origin}/${name}/${i}</loc><lastmod>2024-0${i + 3}-01</lastmod></url>`)
        .join('');
      return xml(
        path === '/books.xml.gz' ? 'application/x-gzip' : 'application/gzip',
        gzipSync(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls}</urlset>`),
      );
    }
    if (path === '/pages.xml')
      return xml(
        'text/xml',
        `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>${origin}/about</loc></url><url><loc>${origin}/books/1</loc></url>
<url><loc>${origin}/private/secret</loc></url><url><loc>https://elsewhere.test/page</loc></url></urlset>`,
      );
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<title>${path}</title>`);
  };
}

describe('sitemap spiders', () => {
  let server: TestServer | undefined;
  afterEach(() => server?.close());

  const titles = async (spider: Spider, start?: string[]) => {
    const items: Item[] = [];
    for await (const item of crawl(spider, start ? { start } : {})) items.push(item);
    return items;
  };

  it('reads robots.txt Sitemap: lines, the index and its gzipped children; URLs pass the frontier', async () => {
    const hits: string[] = [];
    server = await startServer(sitemapSite(hits));
    const items = await titles(
      defineSpider({
        name: 'site',
        startUrls: [server.url],
        sitemapFromRobots: true,
        sitemapRules: [
          { allow: '/books/*', callback: 'book' },
          { allow: '/old/*', callback: 'book' },
          { callback: 'parse' },
        ],
        parse: (page) => ({ kind: 'page', path: new URL(page.url).pathname }),
        book: (page) => ({
          kind: 'book',
          path: new URL(page.url).pathname,
          lastmod: page.request.userData.lastmod,
        }),
      }),
    );
    const sorted = items.sort((a, b) => String(a.path).localeCompare(String(b.path)));
    expect(sorted).toEqual([
      { kind: 'page', path: '/about' },
      { kind: 'book', path: '/books/1', lastmod: '2024-04-01' },
      { kind: 'book', path: '/books/2', lastmod: '2024-05-01' },
      { kind: 'book', path: '/books/3', lastmod: '2024-06-01' },
      { kind: 'book', path: '/old/1', lastmod: '2024-04-01' },
      { kind: 'book', path: '/old/2', lastmod: '2024-05-01' },
      { kind: 'book', path: '/old/3', lastmod: '2024-06-01' },
    ]);
    // /books/1 is listed twice and fetched once; /private/ is disallowed; elsewhere.test is off-site.
    expect(hits.filter((h) => h === '/books/1')).toHaveLength(1);
    expect(hits).not.toContain('/private/secret');
  });

  it('sitemapSince skips old child sitemaps and old URLs, keeping entries without lastmod', async () => {
    const hits: string[] = [];
    server = await startServer(sitemapSite(hits));
    const items = await titles(
      defineSpider({
        name: 'since',
        sitemapUrls: [`${server.origin}/index.xml`],
        sitemapSince: '2024-05-01',
        parse: (page) => ({ path: new URL(page.url).pathname }),
      }),
    );
    expect(items.map((i) => i.path).sort()).toEqual(['/about', '/books/1', '/books/2', '/books/3']);
    expect(hits).not.toContain('/old.xml.gz');
  });

  it('--start replaces the sitemap URLs, and sitemapFollow limits the children followed', async () => {
    const hits: string[] = [];
    server = await startServer(sitemapSite(hits));
    const items = await titles(
      defineSpider({
        name: 'follow',
        sitemapUrls: ['http://127.0.0.1:1/never.xml'],
        sitemapFollow: '/pages.xml',
        parse: (page) => ({ path: new URL(page.url).pathname }),
      }),
      [`${server.origin}/index.xml`],
    );
    expect(items.map((i) => i.path).sort()).toEqual(['/about', '/books/1']);
  });

  it('rejects a sitemap rule naming a missing callback before any request', async () => {
    await expect(
      titles({
        name: 'typo',
        sitemapUrls: ['http://127.0.0.1:1/sitemap.xml'],
        sitemapRules: [{ allow: '/books/*', callback: 'bok' }],
        book: () => undefined,
      }),
    ).rejects.toThrow(/sitemapRules\[0\]\.callback names "bok"/);
  });
});
