import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crawl, defineSpider, type FailureRecord, type Item } from '../../src/index.js';
import { htmlRoutes, startServer, type TestServer } from '../helpers/server.js';

const linksSpider = fileURLToPath(new URL('../fixtures/spiders/links.ts', import.meta.url));

/** Every kind of href a real page has that is not another page, before the links that are. */
const NOT_PAGES = [
  '#top',
  '#',
  'javascript:void(0)',
  'JAVASCRIPT:menu()',
  '  javascript:go()',
  'java&#9;script:go()',
  'java&#10;script:go()',
  'mailto:team@example.com',
  'tel:+441234567',
  'data:text/plain,hello',
  'about:blank',
  'blob:http://127.0.0.1/5a1d',
  'ftp://files.example/pub',
  '',
];

const home = `<!doctype html><html><head><title>Home</title></head><body>
${NOT_PAGES.map((href) => `<a href="${href}">x</a>`).join('\n')}
<a href="/docs/intro.html#install">Intro</a>
<map><area href="/docs/map.html" alt="map"></map>
<a href="/docs/api.html">API</a>
</body></html>`;
const leaf = (title: string) =>
  `<html><head><title>${title}</title></head><body><a href="#">top</a><a href="/">home</a></body></html>`;

describe('links that are not pages never stop a page', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(
      htmlRoutes({
        '/': home,
        '/docs/intro.html': leaf('Intro'),
        '/docs/map.html': leaf('Map'),
        '/docs/api.html': leaf('API'),
      }),
    );
  });
  afterAll(() => server.close());

  it.each([
    ['yield page.follow(href)', 'hrefs', ['API', 'Home', 'Intro']],
    ['yield page.follow(element)', 'elements', ['API', 'Home', 'Intro', 'Map']],
    ['yield* page.followAll()', 'all', ['API', 'Home', 'Intro', 'Map']],
  ])('%s follows the later links and delivers the item', async (_style, callback, titles) => {
    const job = crawl(linksSpider, { start: [{ url: server.url, callback }], workers: 1 });
    const failures: FailureRecord[] = [];
    job.events.on('failure', (f) => failures.push(f));
    const items: Item[] = [];
    for await (const item of job) items.push(item);
    const stats = await job.finished;

    expect(failures).toEqual([]);
    expect(items.map((i) => i.title).sort()).toEqual(titles);
    // A fragment-only link is the same page: never a request, only counted.
    expect(stats.requests).toBe(titles.length);
    const leaves = titles.length - 1;
    expect(stats.dropped.fragment).toBe(2 + leaves);
    expect(stats.dropped.scheme).toBe(11);
    expect(stats.dropped.empty).toBe(1);
  });

  it('does the same for an inline spider parsed on the main thread', async () => {
    const job = crawl(
      defineSpider({
        name: 'inline',
        startUrls: [server.url],
        *parse(page) {
          yield { title: page.$('title').text() };
          for (const href of page
            .$('a')
            .map((_, a) => page.$(a).attr('href'))
            .get())
            yield page.follow(href);
        },
      }),
      {},
    );
    const items: Item[] = [];
    for await (const item of job) items.push(item);
    expect(items.map((i) => i.title).sort()).toEqual(['API', 'Home', 'Intro']);
    expect((await job.finished).failed).toBe(0);
  });
});

describe('equivalent spellings of one URL', () => {
  it('are fetched once', async () => {
    const hits = new Map<string, number>();
    const server = await startServer((req, res) => {
      const path = req.url ?? '/';
      hits.set(path, (hits.get(path) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        path === '/'
          ? '<a href="/~ann/caf%C3%A9">1</a><a href="/%7eann/caf%c3%a9">2</a><a href="/x/../%7Eann/./caf%C3%a9#bio">3</a>'
          : '<title>ann</title>',
      );
    });
    try {
      const spider = defineSpider({
        name: 'spellings',
        startUrls: [server.url],
        *parse(page) {
          yield* page.followAll();
        },
      });
      const stats = await crawl(spider).pipeTo();
      expect([...hits.keys()].filter((p) => p !== '/' && p !== '/robots.txt')).toEqual(['/~ann/caf%C3%A9']);
      expect(stats.dropped.duplicate).toBe(2);
    } finally {
      await server.close();
    }
  });
});
