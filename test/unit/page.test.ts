import { describe, expect, it } from 'vitest';
import { InvalidUrlError } from '../../src/errors.js';
import { PageImpl } from '../../src/parser/page.js';
import type { LogLine } from '../../src/parser/protocol.js';
import { isFollowRequest } from '../../src/spider.js';
import { parseTask, type TaskInit } from '../helpers/parse-task.js';

const URL_ = 'http://shop.test/catalogue/list/page-2.html?sort=asc#top';

function page(init: TaskInit = {}): { page: PageImpl; logs: LogLine[] } {
  const logs: LogLine[] = [];
  return { page: new PageImpl(parseTask({ url: URL_, ...init }), logs), logs };
}

const LISTING = `<!doctype html><html><head><title>Books</title></head><body>
<nav><a href="/">Home</a> <a href="#top">Top</a> <a href="mailto:shop@example.com">Mail</a>
<a href="javascript:void(0)">Menu</a> <a href="tel:+441234">Call</a> <a href="">Empty</a></nav>
<article class="book"><h3><a href="../book-1.html#reviews">One</a></h3></article>
<article class="book"><h3><a href="../book-2.html">Two</a></h3></article>
<article class="book"><h3><a href="../book-1.html">One again</a></h3></article>
<ul class="pager"><li class="next"><a href="page-3.html">next</a></li></ul>
<map><area href="/map-area" alt=""></map>
<a href="https://other.example/x">Elsewhere</a>
</body></html>`;

describe('Page basics', () => {
  it('exposes the final URL, status, headers, content type, encoding and request', () => {
    const { page: p } = page({ body: LISTING, userData: { category: 'poetry' }, depth: 3 });
    expect(p.url).toBe(URL_);
    expect(p.status).toBe(200);
    expect(p.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(p.contentType).toBe('text/html');
    expect(p.encoding).toBe('utf-8');
    expect(p.request).toEqual(
      expect.objectContaining({ depth: 3, callback: 'parse', userData: { category: 'poetry' } }),
    );
    expect(p.$('title').text()).toBe('Books');
  });

  it('decodes legacy charsets with the typographic characters windows-1252 has in 0x80-0x9F', () => {
    const bytes = Uint8Array.from([0x93, 0x80, 0x35, 0x94, 0x20, 0x96, 0x20, 0x99]);
    const { page: p } = page({ body: bytes, encoding: 'windows-1252', contentType: 'text/plain' });
    expect(p.text).toBe('\u201c\u20ac5\u201d \u2013 \u2122');
  });

  it('parses JSON once and says which page was not JSON', () => {
    const { page: p } = page({ body: '{"items":[1,2]}', contentType: 'application/json' });
    expect(p.json()).toEqual({ items: [1, 2] });
    expect(p.json()).toBe(p.json());
    const bad = page({ body: '<html>', contentType: 'text/html' }).page;
    expect(() => bad.json()).toThrow(
      /page\.json\(\): body of http:\/\/shop\.test\/.* \(text\/html\) is not JSON/,
    );
  });

  it('collects log lines and caps them per page', () => {
    const { page: p, logs } = page();
    p.log.info('hello', { n: 1 });
    for (let i = 0; i < 1100; i++) p.log.debug(`line ${i}`);
    expect(logs[0]).toEqual({ level: 'info', message: 'hello', data: { n: 1 } });
    expect(logs).toHaveLength(1001);
    expect(logs.at(-1)).toEqual({ level: 'warn', message: expect.stringMatching(/^101 more log lines/) });
  });
});

describe('Page.links', () => {
  it('returns absolute http(s) links in document order, deduplicated, without fragments or other schemes', () => {
    const { page: p } = page({ body: LISTING });
    expect(p.links()).toEqual([
      'http://shop.test/',
      // "#top" and "" only point back at this page.
      'http://shop.test/catalogue/book-1.html',
      'http://shop.test/catalogue/book-2.html',
      'http://shop.test/catalogue/list/page-3.html',
      'http://shop.test/map-area',
      'https://other.example/x',
    ]);
  });

  it('resolves against <base href>', () => {
    const { page: p } = page({
      body: '<head><base href="https://cdn.test/base/"></head><a href="x.html">x</a><a href="/y">y</a>',
    });
    expect(p.links()).toEqual(['https://cdn.test/base/x.html', 'https://cdn.test/y']);
    expect(p.urljoin('z?q=1#f')).toBe('https://cdn.test/base/z?q=1#f');
  });

  it('takes links from the elements a selector matches, or from inside them', () => {
    const { page: p } = page({ body: LISTING });
    expect(p.links('article.book')).toEqual([
      'http://shop.test/catalogue/book-1.html',
      'http://shop.test/catalogue/book-2.html',
    ]);
    expect(p.links('li.next a, nav')).toEqual([
      'http://shop.test/',
      'http://shop.test/catalogue/list/page-3.html',
    ]);
  });

  it('finds no links on a page that is not markup', () => {
    const { page: p } = page({ body: '{"href":"/x"}', contentType: 'application/json' });
    expect(p.links()).toEqual([]);
  });
});

describe('Page.follow', () => {
  it('resolves the href and names the callback', () => {
    const { page: p } = page({ body: LISTING });
    const next = p.follow('page-3.html', 'listing', { userData: { n: 3 }, priority: 2 });
    expect(isFollowRequest(next)).toBe(true);
    expect(next).toEqual(
      expect.objectContaining({
        url: 'http://shop.test/catalogue/list/page-3.html',
        callback: 'listing',
        userData: { n: 3 },
        priority: 2,
      }),
    );
  });

  it('takes the options as one object, and an element in place of an href', () => {
    const { page: p } = page({ body: LISTING });
    const el = p.$('li.next a').get(0)!;
    expect(p.follow(el, { callback: 'listing', userData: { from: 'pager' } })).toEqual(
      expect.objectContaining({
        url: 'http://shop.test/catalogue/list/page-3.html',
        callback: 'listing',
        userData: { from: 'pager' },
      }),
    );
  });

  it('throws only for a value that is not a link at all, saying what went wrong', () => {
    const { page: p } = page({ body: LISTING });
    const missing = p.$('li.previous a').attr('href');
    expect(() => p.follow(missing as string)).toThrow(InvalidUrlError);
    expect(() => p.follow(missing as string)).toThrow(
      /page\.follow\(\) on http:\/\/shop\.test\/.* takes an href string or an element \(did the selector match nothing\?\)/,
    );
    expect(() => p.follow(42 as unknown as string)).toThrow(InvalidUrlError);
    expect(() => p.follow({ href: '/x' } as unknown as string)).toThrow(InvalidUrlError);
    expect(() => p.followAll([null as unknown as string])).toThrow(/page\.followAll\(\)/);
  });

  it.each([
    ['#top', 'fragment'],
    ['  #', 'fragment'],
    ['javascript:void(0)', 'scheme'],
    ['JavaScript:alert(1)', 'scheme'],
    ['   javascript:go()', 'scheme'],
    ['java\tscript:go()', 'scheme'],
    ['java\nscript:go()', 'scheme'],
    ['javascript:void(0', 'scheme'],
    ['mailto:shop@example.com', 'scheme'],
    ['tel:+441234', 'scheme'],
    ['data:text/html,<p>x</p>', 'scheme'],
    ['about:blank', 'scheme'],
    ['blob:http://shop.test/1234', 'scheme'],
    ['ftp://files.example/x', 'scheme'],
    ['whatsapp://send?text=x', 'scheme'],
    ['', 'empty'],
    ['  \n ', 'empty'],
    ['http://[oops/', 'invalid'],
  ])('drops %j (counted as %s) instead of throwing', (href, reason) => {
    const { page: p } = page({ body: LISTING });
    expect(p.follow(href)).toBeUndefined();
    expect(p.followAll([href])).toEqual([]);
    expect(p.droppedLinks[reason as 'fragment']).toBe(2);
  });

  it('drops an element without an href and an empty selection, and follows a URL object', () => {
    const { page: p } = page({ body: LISTING });
    expect(p.follow(p.$('h3').get(0)!)).toBeUndefined();
    expect(p.follow(p.$('li.previous a'))).toBeUndefined();
    expect(p.droppedLinks.empty).toBe(2);
    expect(p.follow(p.$('li.next a'))?.url).toBe('http://shop.test/catalogue/list/page-3.html');
    expect(p.follow(new URL('http://shop.test/x#y'))?.url).toBe('http://shop.test/x');
  });

  it('keeps the fragment out of the URL of a link to another page', () => {
    const { page: p } = page({ body: LISTING });
    expect(p.follow('../book-1.html#reviews')?.url).toBe('http://shop.test/catalogue/book-1.html');
  });
});

describe('Page.followAll', () => {
  it('follows every link on the page when given no selector', () => {
    const { page: p } = page({ body: LISTING });
    const requests = p.followAll();
    expect(requests.map((r) => r.url)).toEqual(p.links());
    expect(requests.every((r) => isFollowRequest(r) && r.callback === undefined)).toBe(true);
  });

  it('follows a selector, a list of hrefs, or a cheerio selection, with a callback', () => {
    const { page: p } = page({ body: LISTING });
    const bySelector = p.followAll('article.book a', 'book');
    expect(bySelector.map((r) => [r.url, r.callback])).toEqual([
      ['http://shop.test/catalogue/book-1.html', 'book'],
      ['http://shop.test/catalogue/book-2.html', 'book'],
    ]);
    const byHrefs = p.followAll(['../book-2.html', 'javascript:x()', '../book-2.html#again'], {
      callback: 'book',
      userData: { k: 1 },
    });
    expect(byHrefs).toEqual([
      expect.objectContaining({
        url: 'http://shop.test/catalogue/book-2.html',
        callback: 'book',
        userData: { k: 1 },
      }),
    ]);
    const bySelection = p.followAll(p.$('article.book h3 a'), 'book');
    expect(bySelection.map((r) => r.url)).toEqual(bySelector.map((r) => r.url));
  });
});

describe('Page.$', () => {
  it('is not built until first used, so a JSON callback pays nothing for it', () => {
    const { page: p } = page({ body: '{"a":1}', contentType: 'application/json' });
    p.json();
    expect((p as unknown as { document: unknown }).document).toBeUndefined();
    p.$('a');
    expect((p as unknown as { document: unknown }).document).toBeDefined();
  });

  it('logs a warning when the document was cut short for nesting too deep', () => {
    const { page: p, logs } = page({ body: `<title>x</title>${'<div>'.repeat(20_000)}` });
    expect(p.$('title').text()).toBe('x');
    expect(logs).toEqual([{ level: 'warn', message: expect.stringMatching(/nests deeper than 4096/) }]);
  });
});
