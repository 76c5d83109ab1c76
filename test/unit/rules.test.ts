import { describe, expect, it } from 'vitest';
import { PageImpl } from '../../src/parser/page.js';
import { applyRules, compilePattern, compileRules } from '../../src/parser/rules.js';
import { type LinkRule, type Spider, validateSpider } from '../../src/spider.js';
import { parseTask } from '../helpers/parse-task.js';

describe('link patterns', () => {
  it.each([
    // Globs starting with "/" match the path.
    ['/catalogue/*', 'http://h/catalogue/a.html', true],
    ['/catalogue/*', 'http://h/catalogue/a/b.html', false],
    ['/catalogue/**', 'http://h/catalogue/a/b.html', true],
    ['/catalogue/*_*/index.html', 'http://h/catalogue/the-book_12/index.html', true],
    ['/catalogue/*_*/index.html', 'http://h/catalogue/category/x/index.html', false],
    // ...and ignore the query unless they contain a "?".
    ['/search', 'http://h/search?q=x', true],
    ['/search?q=*', 'http://h/search?q=x', true],
    ['/search?q=*', 'http://h/search', false],
    // "." and "?" are literal.
    ['/page-?.html', 'http://h/page-1.html', false],
    ['/a.html', 'http://h/aXhtml', false],
    // Alternatives.
    ['/{books,music}/**', 'http://h/music/x', true],
    ['/{books,music}/**', 'http://h/films/x', false],
    // Other globs match the whole URL.
    ['http://h/*.html', 'http://h/a.html', true],
    ['https://*.example.com/**', 'https://shop.example.com/a/b', true],
    ['https://*.example.com/**', 'https://example.com/a', false],
    ['http://127.0.0.1:*/catalogue/**', 'http://127.0.0.1:8080/catalogue/x', true],
    // A RegExp is tested against the whole URL, unanchored.
    [/page-\d+/, 'http://h/catalogue/page-7.html', true],
    [/^\/page/, 'http://h/page-7.html', false],
    [/PAGE/i, 'http://h/page-7.html', true],
  ])('%s against %s -> %s', (pattern, url, expected) => {
    expect(compilePattern(pattern)(new URL(url))).toBe(expected);
  });

  it('gives the same answer every time for a global RegExp', () => {
    const test = compilePattern(/book/g);
    const url = new URL('http://h/book-1');
    expect([test(url), test(url), test(url)]).toEqual([true, true, true]);
  });
});

const PAGE = `<html><body>
<nav class="cats"><a href="/cat/poetry/page-1.html">Poetry</a><a href="/cat/travel/page-1.html">Travel</a></nav>
<article><a href="/book/1.html">1</a><a href="/book/2.html">2</a><a href="/book/gone-3.html">3</a></article>
<footer><a href="/book/9.html">featured</a><a href="/about.html">about</a></footer>
</body></html>`;

function rulesOn(rules: LinkRule[], body = PAGE) {
  const page = new PageImpl(parseTask({ url: 'http://h/', body }), []);
  return applyRules(page, compileRules(rules));
}

describe('applyRules', () => {
  it('makes requests for allowed links, minus denied ones, with the rule callback', () => {
    expect(rulesOn([{ allow: '/book/*', deny: /gone/, callback: 'book' }])).toEqual([
      { url: 'http://h/book/1.html', callback: 'book' },
      { url: 'http://h/book/2.html', callback: 'book' },
      { url: 'http://h/book/9.html', callback: 'book' },
    ]);
  });

  it('takes links only from within the CSS scope', () => {
    expect(rulesOn([{ selector: 'article', callback: 'book' }]).map((r) => r.url)).toEqual([
      'http://h/book/1.html',
      'http://h/book/2.html',
      'http://h/book/gone-3.html',
    ]);
  });

  it('gives each link to the first rule that matches it', () => {
    const requests = rulesOn([
      { selector: 'footer', allow: '/book/*', callback: 'featured' },
      { allow: ['/book/*', '/about.html'], callback: 'book' },
    ]);
    expect(requests.map((r) => [r.url, r.callback])).toEqual([
      ['http://h/book/9.html', 'featured'],
      ['http://h/book/1.html', 'book'],
      ['http://h/book/2.html', 'book'],
      ['http://h/book/gone-3.html', 'book'],
      ['http://h/about.html', 'book'],
    ]);
  });

  it('sends links of a rule without callback to parse, carrying user data and priority', () => {
    expect(rulesOn([{ selector: 'nav', userData: { from: 'nav' }, priority: 5 }])).toEqual([
      { url: 'http://h/cat/poetry/page-1.html', callback: 'parse', userData: { from: 'nav' }, priority: 5 },
      { url: 'http://h/cat/travel/page-1.html', callback: 'parse', userData: { from: 'nav' }, priority: 5 },
    ]);
  });
});

describe('compileRules', () => {
  it('applies rules after parse, after rules without callback, and after rules that say follow', () => {
    const { followFrom } = compileRules([
      { allow: '/cat/**' },
      { allow: '/book/*', callback: 'book' },
      { allow: '/author/*', callback: 'author', follow: true },
      { allow: '/x', follow: false },
    ]);
    expect([...followFrom].sort()).toEqual(['author', 'parse']);
  });
});

describe('validateSpider with rules', () => {
  const base = { name: 's', book: () => undefined };
  it.each([
    [{ rules: 'nope' }, /spider\.rules must be an array/],
    [{ rules: [null] }, /spider\.rules\[0\] must be an object/],
    [{ rules: [{ allowed: '/x' }] }, /spider\.rules\[0\]\.allowed is not a rule option/],
    [{ rules: [{ allow: 3 }] }, /spider\.rules\[0\]\.allow must be a glob string, a RegExp/],
    [{ rules: [{ deny: [''] }] }, /spider\.rules\[0\]\.deny must be/],
    [
      { rules: [{}, { callback: 'boook' }] },
      /spider\.rules\[1\]\.callback names "boook", but spider s has no such/,
    ],
    [{ rules: [{ follow: 'yes' }] }, /spider\.rules\[0\]\.follow must be true or false/],
    [{ rules: [{ selector: ' ' }] }, /spider\.rules\[0\]\.selector must be a non-empty CSS selector/],
  ])('rejects %j', (extra, message) => {
    expect(() => validateSpider({ ...base, ...extra } as unknown as Spider, 'test')).toThrow(message);
  });

  it('accepts a spider made only of rules, whose pages go to parse', () => {
    expect(() => validateSpider({ name: 'r', rules: [{ allow: '/x' }] }, 'test')).not.toThrow();
  });
});
