import { describe, expect, it } from 'vitest';
import { PageImpl } from '../../src/parser/page.js';
import { REQUEST_BRAND, type SubmitFormOptions } from '../../src/spider.js';
import { parseTask } from '../helpers/parse-task.js';

const PAGE_URL = 'http://shop.test/account/login?next=%2Fcart';

function page(body: string, url = PAGE_URL): PageImpl {
  return new PageImpl(parseTask({ url, body }), []);
}

/** The fields a POST form of `controls` sends, as pairs. */
function fields(controls: string, options?: SubmitFormOptions): Array<[string, string]> {
  const request = page(`<form method="post" action="/go">${controls}</form>`).submitForm(options);
  return [...new URLSearchParams(String(request.body))];
}

describe('the entry list, by the HTML standard', () => {
  const cases: Array<[rule: string, controls: string, expected: Array<[string, string]>]> = [
    ['a text input sends its value', '<input name="q" value="red shoes">', [['q', 'red shoes']]],
    ['an input without a value sends the empty string', '<input name="q">', [['q', '']]],
    ['an unknown type is a text input', '<input type="fancy" name="q" value="v">', [['q', 'v']]],
    [
      'a control without a name or with an empty one sends nothing',
      '<input value="a"><input name="" value="b">',
      [],
    ],
    [
      'hidden fields such as CSRF tokens are kept',
      '<input type="hidden" name="csrf" value="t0k3n">',
      [['csrf', 't0k3n']],
    ],
    [
      '_charset_ without a value sends the charset',
      '<input type="hidden" name="_charset_">',
      [['_charset_', 'UTF-8']],
    ],
    [
      'a disabled control sends nothing',
      '<input name="a" value="1" disabled><input name="b" value="2">',
      [['b', '2']],
    ],
    [
      'a control in a disabled fieldset sends nothing, unless in its first legend',
      '<fieldset disabled><legend><input name="in" value="1"></legend><input name="out" value="2"></fieldset>',
      [['in', '1']],
    ],
    ['an unchecked checkbox sends nothing', '<input type="checkbox" name="c" value="1">', []],
    [
      'a checked checkbox without a value sends "on"',
      '<input type="checkbox" name="c" checked>',
      [['c', 'on']],
    ],
    [
      'checkboxes of one name send each checked value',
      '<input type="checkbox" name="c" value="a" checked><input type="checkbox" name="c" value="b"><input type="checkbox" name="c" value="d" checked>',
      [
        ['c', 'a'],
        ['c', 'd'],
      ],
    ],
    [
      'of radio buttons of one name, the last marked checked is the one sent',
      '<input type="radio" name="r" value="a" checked><input type="radio" name="r" value="b" checked><input type="radio" name="r" value="c">',
      [['r', 'b']],
    ],
    [
      'reset, button and file inputs send nothing; the first submit button is clicked',
      '<input type="reset" name="x"><input type="button" name="y" value="1"><input type="file" name="f"><button type="button" name="z">z</button><input type="submit" name="go" value="Go"><input type="submit" name="other" value="Other">',
      [['go', 'Go']],
    ],
    [
      'a <button> without a type is a submit button',
      '<button name="act" value="save">Save</button>',
      [['act', 'save']],
    ],
    [
      'an image button sends the clicked point',
      '<input type="image" name="map" src="m.png">',
      [
        ['map.x', '0'],
        ['map.y', '0'],
      ],
    ],
    [
      'a select sends its selected options',
      '<select name="s" multiple><option value="1" selected>One</option><option value="2">Two</option><option value="3" selected>Three</option></select>',
      [
        ['s', '1'],
        ['s', '3'],
      ],
    ],
    [
      'a drop-down with none selected sends its first enabled option',
      '<select name="s"><option value="0" disabled>pick</option><option value="1">One</option></select>',
      [['s', '1']],
    ],
    [
      'a multiple select with none selected sends nothing',
      '<select name="s" multiple><option>a</option></select>',
      [],
    ],
    [
      'a listbox (size > 1) with none selected sends nothing',
      '<select name="s" size="3"><option>a</option></select>',
      [],
    ],
    [
      'an option without a value sends its text, whitespace collapsed',
      '<select name="s"><option selected>\n  Large \t box </option></select>',
      [['s', 'Large box']],
    ],
    [
      'options of a disabled optgroup send nothing',
      '<select name="s" multiple><optgroup disabled><option selected>a</option></optgroup><option selected>b</option></select>',
      [['s', 'b']],
    ],
    [
      'a textarea sends its text: references decoded, first line break dropped, line breaks as CRLF',
      '<textarea name="t">\nfish &amp; chips\nto go</textarea>',
      [['t', 'fish & chips\r\nto go']],
    ],
    ['a text input loses line breaks in its value', '<input name="q" value="a&#10;b">', [['q', 'ab']]],
    [
      'a range without a value sends its midpoint',
      '<input type="range" name="v" min="0" max="10">',
      [['v', '5']],
    ],
    [
      'a control inside a datalist sends nothing',
      '<datalist><label><input name="d" value="1"></label></datalist>',
      [],
    ],
    [
      'dirname adds the direction',
      '<input name="q" value="x" dirname="q.dir">',
      [
        ['q', 'x'],
        ['q.dir', 'ltr'],
      ],
    ],
  ];

  it.each(cases)('%s', (_rule, controls, expected) => {
    expect(fields(controls)).toEqual(expected);
  });

  it('counts controls by form owner: form="id" outside the form counts, one naming another form does not', () => {
    const html = `<input name="before" value="1" form="f">
      <form id="f" method="post"><input name="inside" value="2"><input name="elsewhere" value="3" form="g"></form>
      <form id="g"></form><input name="after" value="4" form="f"><input name="loose" value="5">`;
    const request = page(html).submitForm('#f');
    expect([...new URLSearchParams(String(request.body))]).toEqual([
      ['before', '1'],
      ['inside', '2'],
      ['after', '4'],
    ]);
  });
});

describe('page.submitForm', () => {
  const LOGIN = `<html><head><base href="http://shop.test/auth/"></head><body>
    <form id="search" action="/search?old=1"><input name="q" value="a b"><button>Go</button></form>
    <form id="login" method="POST" action="session">
      <input type="hidden" name="csrf" value="abc123">
      <input name="user"><input type="password" name="pass">
      <input type="submit" name="action" value="login">
      <input type="submit" name="action" value="register" formaction="/signup" formmethod="get">
    </form></body></html>`;

  it('posts the fields URL-encoded to the action resolved against <base href>, with its content type', () => {
    const request = page(LOGIN).submitForm('#login', {
      formdata: { user: 'ann', pass: 'p w&d' },
      callback: 'account',
      userData: { step: 2 },
    });
    expect(request).toMatchObject({
      url: 'http://shop.test/auth/session',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      callback: 'account',
      userData: { step: 2 },
    });
    expect(request.body).toBe('csrf=abc123&user=ann&pass=p+w%26d&action=login');
  });

  it("with method GET puts the fields in the query, replacing the action URL's own", () => {
    const request = page(LOGIN).submitForm();
    expect(request).toMatchObject({ url: 'http://shop.test/search?q=a+b', method: 'GET' });
    expect(request.body).toBeUndefined();
    expect(request.headers).toBeUndefined();
  });

  it('an empty or missing action is the page URL itself', () => {
    for (const form of [
      '<form action=""><input name="a" value="1"></form>',
      '<form><input name="a" value="1"></form>',
    ]) {
      expect(page(form).submitForm().url).toBe('http://shop.test/account/login?a=1');
      expect(page(form.replace('<form', '<form method="post"')).submitForm().url).toBe(PAGE_URL);
    }
  });

  it('formdata replaces fields in place, adds new ones last, takes arrays, and null removes a field', () => {
    const controls =
      '<input name="a" value="1"><input name="b" value="2"><input name="b" value="3"><input name="c" value="4">';
    expect(fields(controls, { formdata: { b: ['x', 'y'], c: null, d: 5 } })).toEqual([
      ['a', '1'],
      ['b', 'x'],
      ['b', 'y'],
      ['d', '5'],
    ]);
  });

  it('clickdata picks the button (selector, attributes, nr) or none; the button may override action and method', () => {
    const p = page(LOGIN);
    const byAttributes = p.submitForm('#login', { clickdata: { value: 'register' } });
    expect(byAttributes).toMatchObject({ method: 'GET' });
    expect(byAttributes.url).toBe('http://shop.test/signup?csrf=abc123&user=&pass=&action=register');
    expect(p.submitForm('#login', { clickdata: { name: 'action', nr: 1 } }).url).toContain('/signup?');
    expect(p.submitForm('#login', { clickdata: '[value=login]' }).body).toContain('action=login');
    expect(p.submitForm('#login', { clickdata: false }).body).toBe('csrf=abc123&user=&pass=');
    expect(() => p.submitForm('#login', { clickdata: { value: 'nope' } })).toThrow(/no submit button/);
  });

  it('takes the form as an element or selection, or any element inside it', () => {
    const p = page(LOGIN);
    expect(p.submitForm(p.$('#login')).url).toBe('http://shop.test/auth/session');
    expect(p.submitForm(p.$('input[name=user]')[0]).url).toBe('http://shop.test/auth/session');
  });

  it('sends multipart/form-data when the enctype says so, with a boundary that depends only on the fields', () => {
    const html = `<form method="post" enctype="multipart/form-data" action="/upload">
      <input name="title" value="Café"><textarea name="note">two\nlines</textarea><input type="file" name="f"></form>`;
    const first = page(html).submitForm();
    const again = page(html).submitForm();
    const type = first.headers!['content-type']!;
    const boundary = /^multipart\/form-data; boundary=(\S+)$/.exec(type)![1]!;
    expect(first.body).toBe(
      `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nCafé\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\ntwo\r\nlines\r\n` +
        `--${boundary}--\r\n`,
    );
    expect(again.body).toBe(first.body);
    expect(page(html.replace('Café', 'Tea')).submitForm().headers!['content-type']).not.toBe(type);
  });

  it('sends text/plain when the enctype says so', () => {
    const request = page(
      '<form method="post" enctype="text/plain"><input name="a" value="1 2"><input name="b" value="x"></form>',
    ).submitForm();
    expect(request.headers).toEqual({ 'content-type': 'text/plain' });
    expect(request.body).toBe('a=1 2\r\nb=x\r\n');
  });

  it('lets the caller override the method and the content type', () => {
    const overridden = page(LOGIN).submitForm('#login', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8', 'x-csrf': 'abc123' },
    });
    expect(overridden.method).toBe('PUT');
    expect(overridden.headers).toEqual({
      'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8',
      'x-csrf': 'abc123',
    });
    expect(page(LOGIN).submitForm('#login', { method: 'GET' }).url).toBe(
      'http://shop.test/auth/session?csrf=abc123&user=&pass=&action=login',
    );
  });

  it('fails clearly when there is no such form or its action cannot be fetched', () => {
    expect(() => page('<p>no forms</p>').submitForm()).toThrow(/no <form> on the page/);
    expect(() => page(LOGIN).submitForm('#missing')).toThrow(/no element matches "#missing"/);
    expect(() => page(LOGIN).submitForm('base')).toThrow(/not a form nor inside one/);
    expect(() => page('<form action="javascript:void(0)"></form>').submitForm()).toThrow(/not http\(s\)/);
  });

  it('makes a request that survives structured cloning (it crosses from the worker)', () => {
    const { [REQUEST_BRAND]: _brand, ...init } = page(LOGIN).submitForm('#login');
    expect(structuredClone(init)).toEqual(init);
  });
});
