import { describe, expect, it } from 'vitest';
import { isXmlType, loadMarkup, MAX_OPEN_ELEMENTS, MAX_TREE_DEPTH } from '../../src/parser/html.js';

const HEAD = '<html><head><title>Deep</title></head><body><a href="/a">a</a><a href="/b">b</a>';
const hrefs = ($: ReturnType<typeof loadMarkup>['$']) =>
  $('a')
    .toArray()
    .map((a) => a.attribs.href);

describe('loadMarkup', () => {
  it.each([
    ['<div> never closed', '<div>'.repeat(100_000)],
    ['<div> closed', `${'<div>'.repeat(100_000)}${'</div>'.repeat(100_000)}`],
    ['formatting elements', '<b><i>'.repeat(50_000)],
    ['tables', '<table><tr><td>'.repeat(33_000)],
  ])('keeps the title and links before 100,000-level nesting of %s, fast', (_, nesting) => {
    const started = performance.now();
    const { $, truncatedAt } = loadMarkup(`${HEAD}${nesting}</body></html>`);
    expect($('title').text()).toBe('Deep');
    expect(hrefs($)).toEqual(['/a', '/b']);
    expect($('body').text()).toContain('ab');
    expect(truncatedAt).toBeGreaterThan(HEAD.length);
    // parse5 did not finish such a page in 120 s, plain htmlparser2 took ~18 s.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('adds elements deeper than the cap as siblings at the cap, keeping their content', () => {
    const depth = MAX_TREE_DEPTH + 100;
    const { $, truncatedAt } = loadMarkup(
      `<title>t</title>${'<div>'.repeat(depth)}<a href="/inside">in</a>${'</div>'.repeat(depth)}<a href="/after">after</a>`,
    );
    expect(truncatedAt).toBeUndefined();
    expect(hrefs($)).toEqual(['/inside', '/after']);
    // The cap bounds the markup's nesting; the <html> every document is put under comes on top.
    expect($('a[href="/inside"]').parents().length).toBeLessThanOrEqual(MAX_TREE_DEPTH + 1);
    expect($('div').length).toBe(depth);
    // /after follows the closed nesting, so it sits at the top level again.
    expect($('a[href="/after"]').parent().is('html')).toBe(true);
  });

  it("reuses a released document for the next page: only that page's nodes, whole-document queries intact", () => {
    const first = loadMarkup('<title>One</title><a href="/1">1</a><p id="x">one</p>');
    expect(hrefs(first.$)).toEqual(['/1']);
    first.release();
    expect(first.$('a').length).toBe(0);

    const second = loadMarkup('<title>Two</title><a href="/2a">2</a><a href="/2b">2</a>');
    expect(second.$).toBe(first.$);
    expect(second.$('title').text()).toBe('Two');
    expect(hrefs(second.$)).toEqual(['/2a', '/2b']);
    expect(second.$('#x').length).toBe(0);
    expect(second.$(':root').is('html')).toBe(true);
    expect(second.$('a').first().closest(':root').length).toBe(1);
    expect(second.$.root().find('a').length).toBe(2);
    expect(second.$.html()).toContain('href="/2b"');
    expect(second.$.html()).not.toContain('/1');

    // A document still in use is never handed out twice.
    const third = loadMarkup('<a href="/3">3</a>');
    expect(third.$).not.toBe(second.$);
    expect(hrefs(second.$)).toEqual(['/2a', '/2b']);
    expect(hrefs(third.$)).toEqual(['/3']);
    second.release();
    second.release();
    third.release();
    const [a, b, c] = [loadMarkup('<a href="/a">'), loadMarkup('<a href="/b">'), loadMarkup('<a href="/c">')];
    expect(new Set([a.$, b.$, c.$]).size).toBe(3);
    expect([a, b, c].map(({ $ }) => hrefs($))).toEqual([['/a'], ['/b'], ['/c']]);
  });

  it('puts everything under one <html>, as browsers do: a fragment, and content after </html>', () => {
    const fragment = loadMarkup('<p>one</p><p>two</p>').$;
    expect(
      fragment
        .root()
        .children()
        .toArray()
        .map((n) => (n as { name?: string }).name),
    ).toEqual(['html']);
    expect(fragment('html > p').length).toBe(2);

    const sloppy = loadMarkup(
      '<!DOCTYPE html><!-- before --><html><head><title>T</title></head><body><a href="/in">in</a></body></html><script>late()</script><a href="/late">late</a>',
    ).$;
    const top = sloppy.root().contents().toArray();
    expect(top.map((n) => n.type)).toEqual(['directive', 'tag']);
    expect(sloppy('title').text()).toBe('T');
    expect(hrefs(sloppy)).toEqual(['/in', '/late']);
    // Document order is kept: the stray nodes sit after <body>, the comment before <head>.
    expect(
      sloppy('html')
        .children()
        .toArray()
        .map((n) => (n as { name: string }).name),
    ).toEqual(['head', 'body', 'script', 'a']);
    expect(sloppy('html').contents().first().get(0)?.type).toBe('comment');
  });

  it('keeps unclosed <p>, <li> and <option> runs whole, since each closes the one before', () => {
    const { $, truncatedAt } = loadMarkup(
      `<ul>${'<li>x'.repeat(MAX_OPEN_ELEMENTS * 2)}</ul><p>${'<p>y'.repeat(MAX_OPEN_ELEMENTS * 2)}<a href="/end">end</a>`,
    );
    expect(truncatedAt).toBeUndefined();
    expect($('li').length).toBe(MAX_OPEN_ELEMENTS * 2);
    expect(hrefs($)).toEqual(['/end']);
  });

  it('parses malformed markup leniently', () => {
    const { $ } = loadMarkup(
      '<title>Broken</title><a href="/one">one<div><p><table><td></span></b></i><a href=\'/two\'>two' +
        '<a href=/three>three</a><img src=x.png <!-- unterminated <a href="/hidden">',
    );
    expect($('title').text()).toBe('Broken');
    expect(hrefs($)).toEqual(['/one', '/two', '/three']);
  });

  it('keeps NUL bytes as text and does not stop at them', () => {
    const { $ } = loadMarkup('<title>a\u0000b</title><p>\u0000</p><a href="/x">x</a>');
    expect($('title').text()).toBe('a\u0000b');
    expect(hrefs($)).toEqual(['/x']);
  });

  it('adds no implied <tbody>, like lxml and unlike browsers', () => {
    const { $ } = loadMarkup('<table><tr><td>1</td></tr></table>');
    expect($('tbody').length).toBe(0);
    expect($('table > tr > td').text()).toBe('1');
  });

  it('parses XML content types in XML mode, so RSS <link> keeps its text', () => {
    const { $ } = loadMarkup(
      '<rss><channel><item><title>One</title><link>https://example.com/1</link></item></channel></rss>',
      true,
    );
    expect($('item > link').text()).toBe('https://example.com/1');
    const html = loadMarkup('<item><link>https://example.com/1</link></item>', false);
    expect(html.$('item > link').text()).toBe('');
  });
});

describe('isXmlType', () => {
  it.each([
    ['application/xml', true],
    ['text/xml', true],
    ['application/rss+xml', true],
    ['application/atom+xml', true],
    ['application/xhtml+xml', false],
    ['text/html', false],
    ['application/json', false],
    ['', false],
  ])('%s -> %s', (type, expected) => {
    expect(isXmlType(type)).toBe(expected);
  });
});
