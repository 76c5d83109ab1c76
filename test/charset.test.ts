import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectEncoding } from '../src/fetcher/charset.js';
import { crawl, defineSpider } from '../src/index.js';
import { startServer, type TestServer } from './helpers/server.js';

const RUSSIAN = 'Съешь же ещё этих мягких французских булок';
const JAPANESE = '吾輩は猫である。名前はまだ無い。';

describe('detectEncoding', () => {
  const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
  it.each([
    ['header charset', 'text/html; charset=windows-1251', ascii('<p>x</p>'), 'windows-1251'],
    ['quoted header charset', 'text/html; charset="Shift_JIS"', ascii('<p>x</p>'), 'shift_jis'],
    ['meta charset', 'text/html', ascii('<html><head><meta charset="windows-1251"></head>'), 'windows-1251'],
    [
      'meta http-equiv',
      'text/html',
      ascii('<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'),
      'shift_jis',
    ],
    ['header wins over meta', 'text/html; charset=utf-8', ascii('<meta charset="windows-1251">'), 'utf-8'],
    [
      'BOM wins over header',
      'text/html; charset=windows-1251',
      new Uint8Array([0xef, 0xbb, 0xbf, 0x41]),
      'utf-8',
    ],
    ['UTF-16LE BOM', 'text/html', new Uint8Array([0xff, 0xfe, 0x41, 0x00]), 'utf-16le'],
    ['latin1 label means windows-1252', 'text/html; charset=ISO-8859-1', ascii('x'), 'windows-1252'],
    ['nothing says: utf-8', 'text/html', ascii('<p>plain</p>'), 'utf-8'],
  ])('%s', (_name, contentType, bytes, expected) => {
    expect(detectEncoding(contentType, bytes)).toBe(expected);
  });
});

describe('pages in legacy charsets decode correctly through a crawl', () => {
  let server: TestServer;
  beforeAll(async () => {
    const pages: Record<string, { type: string; body: Buffer }> = {
      '/ru-header': {
        type: 'text/html; charset=windows-1251',
        body: iconv.encode(`<html><h1>${RUSSIAN}</h1></html>`, 'windows-1251'),
      },
      '/ru-meta': {
        type: 'text/html',
        body: iconv.encode(
          `<html><head><meta charset="windows-1251"></head><h1>${RUSSIAN}</h1></html>`,
          'windows-1251',
        ),
      },
      '/ja-http-equiv': {
        type: 'text/html',
        body: iconv.encode(
          `<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"></head><h1>${JAPANESE}</h1></html>`,
          'Shift_JIS',
        ),
      },
      '/ja-header': {
        type: 'text/html; charset=shift_jis',
        body: iconv.encode(`<html><h1>${JAPANESE}</h1></html>`, 'Shift_JIS'),
      },
      '/cp1252': {
        type: 'text/html; charset=iso-8859-1',
        body: iconv.encode('<html><h1>€ “quoted” – ™</h1></html>', 'windows-1252'),
      },
    };
    server = await startServer((req, res) => {
      const page = pages[req.url ?? ''];
      if (!page) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': page.type }).end(page.body);
    });
  });
  afterAll(() => server.close());

  it('windows-1251, Shift_JIS and windows-1252 by header, meta and http-equiv', async () => {
    const paths = ['/ru-header', '/ru-meta', '/ja-http-equiv', '/ja-header', '/cp1252'];
    const items: Array<{ path: string; h1: string }> = [];
    const c = crawl(
      defineSpider({
        name: 'charsets',
        startUrls: paths.map((p) => `${server.origin}${p}`),
        parse: (page) => [{ path: new URL(page.url).pathname, h1: page.$('h1').text() }],
      }),
      { workers: 0 },
    );
    for await (const item of c) items.push(item as { path: string; h1: string });
    const byPath = Object.fromEntries(items.map((i) => [i.path, i.h1]));
    expect(byPath).toEqual({
      '/ru-header': RUSSIAN,
      '/ru-meta': RUSSIAN,
      '/ja-http-equiv': JAPANESE,
      '/ja-header': JAPANESE,
      '/cp1252': '€ “quoted” – ™',
    });
  });
});
