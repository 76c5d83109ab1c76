import { describe, expect, it } from 'vitest';
import { prepareSpider, runCallback } from '../../src/parser/run-callback.js';
import { type Page, request, type Spider } from '../../src/spider.js';
import { parseTask } from '../helpers/parse-task.js';

const LISTING = '<title>L</title><a href="/book/1">1</a><a href="/cat/2">2</a>';

function run(spider: Spider, callback = 'parse', body = LISTING) {
  return runCallback(prepareSpider(spider), parseTask({ url: 'http://h/', callback, body }));
}

class Product {
  constructor(readonly name: string) {}
  label(): string {
    return this.name;
  }
}

describe('runCallback: what a callback may produce', () => {
  it.each([
    [
      'a generator',
      {
        *parse() {
          yield { a: 1 };
          yield request({ url: 'http://h/x' });
        },
      },
    ],
    [
      'an async generator',
      {
        async *parse() {
          yield { a: 1 };
          yield request({ url: 'http://h/x' });
        },
      },
    ],
    ['an array', { parse: () => [{ a: 1 }, request({ url: 'http://h/x' })] }],
    ['a promise of an array', { parse: async () => [{ a: 1 }, request({ url: 'http://h/x' })] }],
  ])('collects items and requests from %s', async (_, callbacks) => {
    const outcome = await run({ name: 's', ...callbacks });
    expect(outcome.error).toBeUndefined();
    expect(outcome.items).toEqual([{ a: 1 }]);
    expect(outcome.requests).toEqual([{ url: 'http://h/x' }]);
  });

  it('takes a single item, a single request, or nothing', async () => {
    expect((await run({ name: 's', parse: () => ({ a: 1 }) })).items).toEqual([{ a: 1 }]);
    expect((await run({ name: 's', parse: (p: Page) => p.follow('/n') })).requests).toEqual([
      { url: 'http://h/n' },
    ]);
    const nothing = await run({ name: 's', parse: () => undefined });
    expect([nothing.items, nothing.requests, nothing.error]).toEqual([[], [], undefined]);
  });

  it('accepts plain data: nested objects, arrays, dates, maps, null prototypes, shared values', async () => {
    const shared = { k: 1 };
    const item = {
      nested: { list: [1, 'two', null, { deep: true }] },
      when: new Date(0),
      tags: new Map([['a', 1]]),
      bare: Object.assign(Object.create(null), { x: 1 }),
      left: shared,
      right: shared,
    };
    const outcome = await run({ name: 's', parse: () => item });
    expect(outcome.error).toBeUndefined();
    expect(structuredClone(outcome.items)).toEqual([item]);
  });
});

describe('runCallback: items that are not plain data get an error naming the callback', () => {
  it.each([
    [
      'a function',
      () => ({ title: 'x', format: () => 'x' }),
      'callback shop.book yielded an item with a function at item.format; items must be plain data',
    ],
    [
      'a class instance with methods',
      () => ({ product: new Product('lamp') }),
      'callback shop.book yielded an item with a Product instance at item.product; items must be plain data (objects, arrays, primitives)',
    ],
    [
      'a nested class instance',
      () => ({ list: [{ ok: 1 }, { bad: new Product('x') }] }),
      /a Product instance at item\.list\[1\]\.bad;/,
    ],
    [
      'a cheerio selection',
      (p: Page) => ({ title: p.$('title') }),
      /Take a value with \.text\(\), \.attr\(name\) or \.html\(\)/,
    ],
    ['a promise', () => ({ later: Promise.resolve(1) }), /a Promise instance.*Await it before yielding/],
    [
      'a symbol',
      () => ({ id: Symbol('x') }),
      'callback shop.book yielded an item with a symbol at item.id; items must be plain data',
    ],
    ['an array', () => [[{ a: 1 }]], /callback shop\.book yielded an array; yield each item on its own/],
    [
      'a string',
      () => 'http://h/next',
      /callback shop\.book yielded a string \(http:\/\/h\/next\); items must be plain objects/,
    ],
    ['a class instance at the top', () => new Product('x'), /yielded an item with a Product instance/],
  ])('%s', async (_, book, message) => {
    const outcome = await run({ name: 'shop', book }, 'book');
    expect(outcome.error?.code).toBe('TRAWL_ERR_ITEM');
    if (typeof message === 'string') expect(outcome.error?.message).toBe(message);
    else expect(outcome.error?.message).toMatch(message);
  });

  it('rejects an item that contains itself', async () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = { back: loop };
    const outcome = await run({ name: 'shop', book: () => loop }, 'book');
    expect(outcome.error?.message).toBe(
      'callback shop.book yielded an item that contains itself at item.self.back',
    );
  });

  it('checks the user data of yielded requests too', async () => {
    const outcome = await run(
      { name: 'shop', book: (p: Page) => p.follow('/x', 'book', { userData: { cb: () => 1 } }) },
      'book',
    );
    expect(outcome.error?.message).toBe(
      'callback shop.book yielded an item with a function at request.userData.cb; items must be plain data',
    );
  });

  it('keeps what was yielded before the bad item', async () => {
    const outcome = await run(
      {
        name: 'shop',
        *book() {
          yield { first: 1 };
          yield { bad: () => 1 };
          yield { never: 1 };
        },
      },
      'book',
    );
    expect(outcome.items).toEqual([{ first: 1 }]);
  });
});

describe('runCallback: failures', () => {
  it('returns a thrown error with its message and stack, keeping earlier items', async () => {
    const outcome = await run({
      name: 's',
      *parse() {
        yield { a: 1 };
        throw new TypeError('no price');
      },
    });
    expect(outcome.items).toEqual([{ a: 1 }]);
    expect(outcome.error).toEqual({
      code: 'TRAWL_ERR_CALLBACK',
      message: 'no price',
      stack: expect.stringMatching(/TypeError: no price\n\s+at /),
    });
  });

  it('keeps the code of a trawl error and turns a thrown non-error into a message', async () => {
    const invalid = await run({ name: 's', parse: (p: Page) => p.follow(7 as unknown as string) });
    expect(invalid.error?.code).toBe('TRAWL_ERR_INVALID_URL');
    const mail = await run({ name: 's', parse: (p: Page) => p.follow('mailto:x@y') });
    expect(mail.error).toBeUndefined();
    expect(mail.dropped).toEqual({ fragment: 0, scheme: 1, empty: 0, invalid: 0 });
    const odd = await run({
      name: 's',
      parse: () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- what the test is about
        throw 'plain string';
      },
    });
    expect(odd.error).toEqual(
      expect.objectContaining({ code: 'TRAWL_ERR_CALLBACK', message: 'plain string' }),
    );
  });

  it('names a callback the spider does not have, as a spider mistake', async () => {
    const outcome = await run({ name: 's', parse: () => undefined }, 'detail');
    expect(outcome.error).toMatchObject({
      code: 'TRAWL_ERR_SPIDER_INVALID',
      message: 'no callback named "detail" for http://h/: spider s has no such callback (it has parse)',
    });
  });

  it('fails a follow-up request for a misspelt callback where it is yielded', async () => {
    const outcome = await run({
      name: 's',
      *parse(p: Page) {
        yield { first: 1 };
        yield p.follow('/book/1', 'bok');
        yield { never: 1 };
      },
      book: () => undefined,
    });
    expect(outcome.items).toEqual([{ first: 1 }]);
    expect(outcome.requests).toEqual([]);
    expect(outcome.error).toMatchObject({
      code: 'TRAWL_ERR_SPIDER_INVALID',
      message:
        'callback s.parse yielded a request for callback "bok", but spider s has no such callback (it has parse, book)',
    });
  });

  it('lets a rules-only spider name parse', async () => {
    const outcome = await run(
      {
        name: 's',
        rules: [{ allow: '/book/*', callback: 'book' }],
        book: (p: Page) => p.follow('/cat/1', 'parse'),
      },
      'book',
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.requests).toEqual([expect.objectContaining({ url: 'http://h/cat/1', callback: 'parse' })]);
  });

  it('keeps credentials out of the message and the stack', async () => {
    const outcome = await run({
      name: 's',
      parse: () => {
        throw new Error('cannot reach postgres://app:s3cret@db.internal/items');
      },
    });
    expect(outcome.error?.message).toBe('cannot reach postgres://db.internal/items');
    expect(outcome.error?.stack).not.toContain('s3cret');
  });
});

describe('runCallback: link rules', () => {
  const rules = [{ allow: '/cat/*' }, { allow: '/book/*', callback: 'book' }];

  it('applies the rules after parse, after the callback’s own requests', async () => {
    const outcome = await run({
      name: 's',
      rules,
      parse: (p: Page) => p.follow('/extra', 'book'),
      book: () => undefined,
    });
    expect(outcome.requests).toEqual([
      { url: 'http://h/extra', callback: 'book' },
      { url: 'http://h/cat/2', callback: 'parse' },
      { url: 'http://h/book/1', callback: 'book' },
    ]);
  });

  it('handles parse pages of a spider made only of rules', async () => {
    const outcome = await run({
      name: 's',
      rules: [{ allow: '/book/*', callback: 'book' }],
      book: () => undefined,
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.requests).toEqual([{ url: 'http://h/book/1', callback: 'book' }]);
  });

  it('does not apply the rules after a callback of a rule that does not follow', async () => {
    const outcome = await run({ name: 's', rules, book: () => ({ b: 1 }) }, 'book');
    expect(outcome.requests).toEqual([]);
  });

  it('still follows the rules when the callback throws, and reports the error', async () => {
    const outcome = await run({
      name: 's',
      rules,
      parse: () => {
        throw new Error('bad page');
      },
      book: () => undefined,
    });
    expect(outcome.error?.message).toBe('bad page');
    expect(outcome.requests).toHaveLength(2);
  });
});

describe('runCallback: the page after its callback', () => {
  it('releases the document once the callback and the rules are done, keeping what was taken', async () => {
    let kept: Page['$'] | undefined;
    const outcome = await run({
      name: 's',
      rules: [{ allow: '/book/*' }],
      parse(page: Page) {
        kept = page.$;
        return { title: page.$('title').text(), links: page.$('a').length };
      },
    });
    expect(outcome.items).toEqual([{ title: 'L', links: 2 }]);
    // The rules ran on the whole document before it was released.
    expect(outcome.requests).toEqual([expect.objectContaining({ url: 'http://h/book/1' })]);
    // A callback that keeps `$` past its page finds it empty: the tree is free to be collected.
    expect(kept!('a').length).toBe(0);
  });
});
