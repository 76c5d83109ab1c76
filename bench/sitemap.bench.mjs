// A sitemap at the protocol's limits: 50,000 URLs in 50 MB (each <url> padded with hreflang
// alternates and image entries, as big shops' sitemaps are), plain and gzipped. Each scenario runs
// in its own process and reports its peak RSS:
//   stream   trawl's streaming reader over the 50 MB body (the URLs counted, not kept)
//   dom      the same body loaded with cheerio in XML mode and its <loc>s selected, as a spider
//            that reads a sitemap with page.$ does (and as Scrapy's lxml tree does)
//   crawl    an end-to-end crawl: the gzipped sitemap served on 127.0.0.1, fetched, decompressed
//            and read in a parser thread, every one of the 50,000 URLs admitted to the frontier,
//            and 500 of them (sitemapRules) fetched and parsed
import { createServer } from 'node:http';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { childFigures } from './child.mjs';

const URLS = 50_000;
const PAGES_CRAWLED = 500;
// Written once by the parent, so a child's peak RSS is its reading, not the building of the file.
const FILE = join(tmpdir(), 'trawl-bench-sitemap.xml');

function sitemap(origin) {
  const pad = (i) =>
    ['de', 'fr', 'es', 'it']
      .map((l) => `<xhtml:link rel="alternate" hreflang="${l}" href="${origin}/${l}/products/item-${i}"/>`)
      .join('') +
    Array.from(
      { length: 4 },
      (_, k) =>
        `<image:image><image:loc>${origin}/img/${i}-${k}.jpg</image:loc><image:title>Product ${i} picture ${k}</image:title></image:image>`,
    ).join('');
  const parts = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">',
  ];
  for (let i = 0; i < URLS; i++)
    parts.push(
      `<url><loc>${origin}/products/item-${i}</loc><lastmod>2024-06-${String((i % 28) + 1).padStart(2, '0')}</lastmod>${pad(i)}</url>\n`,
    );
  parts.push('</urlset>');
  return Buffer.from(parts.join(''));
}

const mb = (bytes) => Math.round(bytes / 1024 / 1024);

async function scenario(name) {
  const baseline = process.memoryUsage().rss;
  if (name === 'stream' || name === 'dom') {
    const body = readFileSync(FILE);
    const started = performance.now();
    let urls = 0;
    if (name === 'stream') {
      const { readSitemap } = await import('../dist/sitemap/read-sitemap.js');
      await readSitemap(new Uint8Array(body), () => urls++, { maxBytes: 64 * 1024 * 1024, maxEntries: URLS });
    } else {
      const cheerio = await import('cheerio');
      const $ = cheerio.load(body.toString('utf8'), { xml: true });
      urls = $('url > loc').length;
    }
    return {
      name,
      bodyMB: mb(body.length),
      bodyBytes: body.length,
      urls,
      ms: Math.round(performance.now() - started),
      baselineMB: mb(baseline),
    };
  }
  let origin = '';
  let gz;
  let pages = 0;
  const server = createServer((req, res) => {
    if (req.url === '/sitemap.xml.gz') {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': gz.length });
      res.end(gz);
    } else {
      if (req.url.startsWith('/products/')) pages++;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<title>${req.url}</title>`);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  const plain = sitemap(origin);
  gz = gzipSync(plain);
  const { crawl } = await import('../dist/index.js');
  const started = performance.now();
  let items = 0;
  const run = crawl(
    {
      name: 'big-sitemap',
      sitemapUrls: [`${origin}/sitemap.xml.gz`],
      sitemapRules: [{ allow: /item-(\d*00|0)$/, callback: 'parse' }],
      settings: { maxBodyBytes: 64 * 1024 * 1024, perHost: { concurrency: 16 } },
      parse: (page) => ({ title: page.$('title').text() }),
    },
    { workers: 1, timeLimitMs: 120_000 },
  );
  for await (const _ of run) items++;
  server.close();
  server.closeAllConnections();
  return {
    name,
    bodyMB: mb(plain.length),
    gzipMB: Math.round((gz.length / 1024 / 1024) * 10) / 10,
    urls: URLS,
    items,
    pages,
    ms: Math.round(performance.now() - started),
    baselineMB: mb(baseline),
  };
}

if (process.argv[2]) {
  const figures = await scenario(process.argv[2]);
  figures.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(JSON.stringify(figures));
} else {
  const script = new URL(import.meta.url).pathname;
  writeFileSync(FILE, sitemap('https://shop.test'));
  console.log('scenario  body MB  gzip MB  URLs    items  ms      RSS before MB  peak RSS MB');
  for (const name of ['stream', 'dom', 'crawl']) {
    const f = await childFigures(script, [name], 300_000);
    if (name === 'crawl' && (f.items !== PAGES_CRAWLED || f.pages !== PAGES_CRAWLED))
      throw new Error(`crawl: expected ${PAGES_CRAWLED} items and pages, got ${f.items} / ${f.pages}`);
    console.log(
      `${name.padEnd(9)} ${String(f.bodyMB).padEnd(8)} ${String(f.gzipMB ?? '-').padEnd(8)} ${String(f.urls).padEnd(7)} ${String(f.items ?? '-').padEnd(6)} ${String(f.ms).padEnd(7)} ${String(f.baselineMB).padEnd(14)} ${f.peakRssMB}`,
    );
  }
  rmSync(FILE, { force: true });
}
