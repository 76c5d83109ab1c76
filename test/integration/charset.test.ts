import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  charsetFromContentType,
  charsetFromMeta,
  charsetFromMetaContent,
  detectEncoding,
} from '../../src/fetcher/charset.js';
import { decodeBody } from '../../src/decode.js';
import { getEncoding } from '../../src/encodings.js';
import { crawl, defineSpider } from '../../src/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

const RUSSIAN = 'Съешь же ещё этих мягких французских булок';
const JAPANESE = '吾輩は猫である。名前はまだ無い。';

/** Bytes of an ASCII (or Latin-1) string, one byte a character. */
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const concat = (...parts: Array<Uint8Array | number[]>) =>
  new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
/** Markup that pushes what follows past the prescan's 1024 bytes, without ending the head. */
const LONG_HEAD = `<html><head>${'<link rel="stylesheet" href="/style.css">'.repeat(30)}`;

describe('detectEncoding', () => {
  it.each([
    // BOM sniffing
    ['UTF-8 BOM', 'text/html', [0xef, 0xbb, 0xbf, 0x41], 'utf-8'],
    ['UTF-16BE BOM', 'text/html', [0xfe, 0xff, 0x00, 0x41], 'utf-16be'],
    ['UTF-16LE BOM', 'text/html', [0xff, 0xfe, 0x41, 0x00], 'utf-16le'],
    ['BOM wins over the header', 'text/html; charset=windows-1251', [0xef, 0xbb, 0xbf, 0x41], 'utf-8'],
    ['UTF-16 BOM wins over the header', 'text/html; charset=shift_jis', [0xff, 0xfe, 0x41, 0x00], 'utf-16le'],
    ['BOM wins over a meta', 'text/html', concat([0xfe, 0xff], bytes('<meta charset=koi8-r>')), 'utf-16be'],
    // The Content-Type charset
    ['header charset', 'text/html; charset=windows-1251', bytes('<p>x</p>'), 'windows-1251'],
    ['quoted header charset', 'text/html; charset="Shift_JIS"', bytes('<p>x</p>'), 'shift_jis'],
    ['escape in a quoted charset', 'text/html; charset="win\\dows-1251"', bytes('x'), 'windows-1251'],
    ['no spaces, upper case', 'TEXT/HTML;CHARSET=KOI8-R', bytes('x'), 'koi8-r'],
    ['whitespace around', '  text/html ;   charset=koi8-r  ', bytes('x'), 'koi8-r'],
    [
      'other parameters first and after',
      'text/html; q=1; charset=koi8-r; format=flowed',
      bytes('x'),
      'koi8-r',
    ],
    ['a quoted parameter before it', 'text/html; title="a;charset=gbk"; charset=big5', bytes('x'), 'big5'],
    ['the first charset counts', 'text/html; charset=koi8-r; charset=windows-1251', bytes('x'), 'koi8-r'],
    ['repeated header keeps the charset', 'text/html; charset=koi8-r, text/html', bytes('x'), 'koi8-r'],
    ['header wins over meta', 'text/html; charset=utf-8', bytes('<meta charset="windows-1251">'), 'utf-8'],
    ['latin1 label means windows-1252', 'text/html; charset=ISO-8859-1', bytes('x'), 'windows-1252'],
    ['utf-16 label means UTF-16LE', 'text/html; charset=utf-16', bytes('x'), 'utf-16le'],
    [
      'unknown header label falls through to the meta',
      'text/html; charset=no-such-thing',
      bytes('<meta charset="windows-1251">'),
      'windows-1251',
    ],
    ['unknown header label, nothing else', 'text/html; charset=utf-7', bytes('<p>x</p>'), 'utf-8'],
    ['empty charset is ignored', 'text/html; charset=', bytes('<meta charset=koi8-r>'), 'koi8-r'],
    ['a space before = hides the charset', 'text/html; charset =koi8-r', bytes('x'), 'utf-8'],
    [
      'a later type of another essence drops the charset',
      'text/plain; charset=koi8-r, text/html',
      bytes('<meta charset=big5>'),
      'big5',
    ],
    // The prescan
    ['meta charset', 'text/html', bytes('<html><head><meta charset="windows-1251"></head>'), 'windows-1251'],
    ['meta charset, unquoted and upper case', 'text/html', bytes('<META CHARSET=KOI8-R>'), 'koi8-r'],
    ['meta charset in single quotes after a slash', 'text/html', bytes("<meta/charset='koi8-r'>"), 'koi8-r'],
    [
      'meta http-equiv',
      'text/html',
      bytes('<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'),
      'shift_jis',
    ],
    [
      'meta content before http-equiv, quoted label',
      'text/html',
      bytes(`<meta content="text/html; charset='koi8-r'" http-equiv=content-type>`),
      'koi8-r',
    ],
    [
      'http-equiv other than content-type is ignored',
      'text/html',
      bytes('<meta http-equiv="refresh" content="0; charset=koi8-r"><p>x'),
      'utf-8',
    ],
    ['content without http-equiv is ignored', 'text/html', bytes('<meta content="charset=koi8-r">'), 'utf-8'],
    ['a repeated attribute counts once', 'text/html', bytes('<meta charset=koi8-r charset=big5>'), 'koi8-r'],
    [
      'charset in a comment is ignored',
      'text/html',
      bytes('<!-- a > b <meta charset="koi8-r"> --><meta charset="big5">'),
      'big5',
    ],
    [
      'charset inside another tag is ignored',
      'text/html',
      bytes(`<a title='<meta charset="koi8-r">' data-x="charset=koi8-r">charset=koi8-r</a><p>`),
      'utf-8',
    ],
    ['a tag that is not meta is skipped', 'text/html', bytes('<metadata charset=koi8-r>'), 'utf-8'],
    [
      'unknown label in a first meta, a valid second meta',
      'text/html',
      bytes('<meta charset="no-such-thing"><meta charset="euc-kr">'),
      'euc-kr',
    ],
    ['meta charset=utf-16 means UTF-8', 'text/html', bytes('<meta charset="utf-16">'), 'utf-8'],
    ['meta charset=utf-16be means UTF-8', 'text/html', bytes('<meta charset="UTF-16BE">'), 'utf-8'],
    [
      'meta x-user-defined means windows-1252',
      'text/html',
      bytes('<meta charset="x-user-defined">'),
      'windows-1252',
    ],
    ['a replacement label', 'text/html', bytes('<meta charset="iso-2022-kr">'), 'replacement'],
    ['no content type: sniffed as HTML', undefined, bytes('<meta charset=gbk>'), 'gbk'],
    [
      'XML declaration in text/html',
      'text/html',
      bytes('<?xml version="1.0" encoding="windows-1251"?><html>'),
      'windows-1251',
    ],
    // XML
    [
      'XML declaration',
      'application/xml',
      bytes('<?xml version="1.0" encoding="ISO-8859-1"?><a/>'),
      'windows-1252',
    ],
    [
      'XML declaration, +xml type',
      'application/rss+xml',
      bytes("<?xml version='1.0' encoding='koi8-r'?>"),
      'koi8-r',
    ],
    [
      'XML header charset wins',
      'text/xml; charset=big5',
      bytes('<?xml version="1.0" encoding="koi8-r"?>'),
      'big5',
    ],
    ['XML ignores meta', 'application/xhtml+xml', bytes('<html><meta charset="koi8-r"/>'), 'utf-8'],
    [
      'XML declaring UTF-16 in ASCII',
      'application/xml',
      bytes('<?xml version="1.0" encoding="UTF-16"?>'),
      'utf-8',
    ],
    [
      'XML in UTF-16LE without BOM',
      'application/xml',
      new Uint8Array(Buffer.from('<?xml?>', 'utf16le')),
      'utf-16le',
    ],
    // The fallback
    ['nothing says, ASCII: utf-8', 'text/html', bytes('<p>plain</p>'), 'utf-8'],
    ['nothing says, valid UTF-8', 'text/html', new Uint8Array(Buffer.from('<p>café</p>')), 'utf-8'],
    ['nothing says, invalid UTF-8: windows-1252', 'text/html', bytes('<p>caf\xe9</p>'), 'windows-1252'],
    ['text/plain has no prescan', 'text/plain', bytes('<meta charset="koi8-r"> caf\xe9'), 'windows-1252'],
  ])('%s', (_name, contentType, body, expected) => {
    expect(detectEncoding(contentType, Uint8Array.from(body))).toBe(expected);
  });
});

describe('a <meta> later than the prescan looks', () => {
  const late = (meta: string, before = '') => bytes(`${LONG_HEAD}${before}${meta}</head><body>x</body>`);

  it('puts the markup used here past the first 1024 bytes', () => {
    expect(LONG_HEAD.length).toBeGreaterThan(1024);
    expect(charsetFromMeta(late('<meta charset="windows-1251">'))).toBeUndefined();
  });

  it.each([
    ['decides the encoding when nothing else did', late('<meta charset="windows-1251">'), 'windows-1251'],
    [
      'as http-equiv too',
      late('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'),
      'koi8-r',
    ],
    ['after a meta that names no encoding', late('<meta charset=big5>', '<meta charset=bogus>'), 'big5'],
    ['straddling byte 1024', bytes(`${'<link>'.repeat(169)}<meta charset="koi8-r">`), 'koi8-r'],
    ['UTF-16 means UTF-8', late('<meta charset="utf-16le">'), 'utf-8'],
    ['x-user-defined means windows-1252', late('<meta charset="x-user-defined">'), 'windows-1252'],
    ['not in a comment', late('<!-- > <meta charset="koi8-r"> --!>'), 'utf-8'],
    ['not in script text', late('<script> <meta charset=koi8-r> </SCRIPT >'), 'utf-8'],
    [
      'not in script text that looks like an end tag',
      late('<script></scripts> <meta charset=koi8-r> '),
      'utf-8',
    ],
    ['not in title text', late('<title> <meta charset=koi8-r> </title>'), 'utf-8'],
    ['not in style text', late('<style> <meta charset=koi8-r> </style>'), 'utf-8'],
    ['after a script', late('<meta charset=koi8-r>', '<script>if (a < b) x()</script> '), 'koi8-r'],
    ['not in an attribute', late(`<link title='<meta charset="koi8-r">'>`), 'utf-8'],
    ['not after body content', late('<meta charset="koi8-r">', '<div>'), 'utf-8'],
    ['not after text', late('<meta charset="koi8-r">', 'Hello'), 'utf-8'],
    ['not after </body>', late('<meta charset="koi8-r">', '</body>'), 'utf-8'],
    ['after an end tag the head ignores', late('<meta charset="koi8-r">', '</p></head>'), 'koi8-r'],
    [
      'not past 64 KB',
      bytes(`<head>${'<link rel="stylesheet" href="/style.css">'.repeat(1700)}<meta charset="koi8-r">`),
      'utf-8',
    ],
  ])('%s', (_name, body, expected) => {
    expect(detectEncoding('text/html', body)).toBe(expected);
  });

  it('is read as the tree builder reads it, which is not quite the prescan', () => {
    // The prescan takes no content after a charset attribute that names no encoding; the tree
    // builder then falls back to http-equiv and content.
    const body = bytes(
      '<meta charset="bogus" http-equiv="content-type" content="text/html; charset=koi8-r">',
    );
    expect(charsetFromMeta(body)).toBeUndefined();
    expect(detectEncoding('text/html', body)).toBe('koi8-r');
  });

  it('with the fallback windows-1252, it still decides', () => {
    const body = bytes(`${LONG_HEAD}<meta charset="windows-1251"></head><p>\xd1\xfa`);
    expect(detectEncoding('text/html', body)).toBe('windows-1251');
  });

  it('never overrides a BOM, a header charset or an early meta', () => {
    const body = late('<meta charset="windows-1251">');
    expect(detectEncoding('text/html', concat([0xef, 0xbb, 0xbf], body))).toBe('utf-8');
    expect(detectEncoding('text/html; charset=koi8-r', body)).toBe('koi8-r');
    expect(detectEncoding('text/html', bytes(`<meta charset=big5>${LONG_HEAD}<meta charset=koi8-r>`))).toBe(
      'big5',
    );
  });
});

describe('labels', () => {
  it.each([
    ['latin1', 'windows-1252'],
    ['ascii', 'windows-1252'],
    ['iso-8859-1', 'windows-1252'],
    ['US-ASCII', 'windows-1252'],
    ['cp1252', 'windows-1252'],
    ['ISO_8859-1:1987', 'windows-1252'],
    ['ansi_x3.4-1968', 'windows-1252'],
    ['x-sjis', 'shift_jis'],
    ['MS_Kanji', 'shift_jis'],
    ['windows-31j', 'shift_jis'],
    ['gb2312', 'gbk'],
    ['chinese', 'gbk'],
    ['GBK', 'gbk'],
    ['gb18030', 'gb18030'],
    ['ks_c_5601-1987', 'euc-kr'],
    ['windows-949', 'euc-kr'],
    ['big5-hkscs', 'big5'],
    ['x-euc-jp', 'euc-jp'],
    ['csiso2022jp', 'iso-2022-jp'],
    ['iso-8859-8-i', 'iso-8859-8-i'],
    ['logical', 'iso-8859-8-i'],
    ['visual', 'iso-8859-8'],
    ['iso-8859-9', 'windows-1254'],
    ['tis-620', 'windows-874'],
    ['koi8-ru', 'koi8-u'],
    ['x-mac-ukrainian', 'x-mac-cyrillic'],
    ['mac', 'macintosh'],
    ['866', 'ibm866'],
    ['l9', 'iso-8859-15'],
    ['x-user-defined', 'x-user-defined'],
    ['iso-2022-kr', 'replacement'],
    ['hz-gb-2312', 'replacement'],
    ['iso-2022-cn', 'replacement'],
    ['iso-2022-cn-ext', 'replacement'],
    ['csiso2022kr', 'replacement'],
    ['utf-16', 'utf-16le'],
    ['ucs-2', 'utf-16le'],
    ['unicodefffe', 'utf-16be'],
    ['unicode-1-1-utf-8', 'utf-8'],
    ['utf8', 'utf-8'],
    [' \t\n\f\rUTF-8 \r\n', 'utf-8'],
    ['Windows-1251', 'windows-1251'],
  ])('%j is %s', (label, name) => {
    expect(getEncoding(label)).toBe(name);
  });

  it.each(['utf-7', 'utf-32', 'latin 1', 'x-unknown', '', '\u00a0utf-8', 'ſhift_jis', 'utf-8;'])(
    '%j is no encoding',
    (label) => {
      expect(getEncoding(label)).toBeUndefined();
    },
  );
});

describe('charset parameters', () => {
  it('reads the Content-Type charset as Fetch does', () => {
    expect(charsetFromContentType('text/html; charset="a\\"b"')).toBe('a"b');
    expect(charsetFromContentType('text/html; charset="koi8-r" ; x=y')).toBe('koi8-r');
    expect(charsetFromContentType('text/html')).toBeUndefined();
    expect(charsetFromContentType('not a type; charset=koi8-r')).toBeUndefined();
    expect(charsetFromContentType('*/*; charset=koi8-r')).toBeUndefined();
    expect(charsetFromContentType(undefined)).toBeUndefined();
  });

  it('extracts the charset from a meta content attribute', () => {
    expect(charsetFromMetaContent('text/html; charset=koi8-r')).toBe('koi8-r');
    expect(charsetFromMetaContent('text/html;CHARSET = "big5" ')).toBe('big5');
    expect(charsetFromMetaContent('charsetx; charset=gbk')).toBe('gbk');
    expect(charsetFromMetaContent('text/html; charset="koi8-r')).toBeUndefined();
    expect(charsetFromMetaContent('text/html; charset=')).toBeUndefined();
    expect(charsetFromMetaContent('text/html')).toBeUndefined();
  });
});

describe('decodeBody', () => {
  const decode = (body: ArrayLike<number>, encoding: string) => decodeBody(Uint8Array.from(body), encoding);

  it('decodes windows-1252 0x80-0x9F as the standard maps them, whatever the label', () => {
    expect(decode([0x80, 0x93, 0x94, 0x96, 0x99, 0x9f], 'windows-1252')).toBe('€“”–™Ÿ');
    expect(decode([0x80], 'iso-8859-1')).toBe('€');
    expect(decode([0x81, 0x8d], 'windows-1252')).toBe('\u0081\u008d');
  });

  it('decodes the other single-byte encodings with the standard indexes', () => {
    expect(decode([0xc0, 0xff], 'windows-1251')).toBe('Ая');
    expect(decode([0x98], 'windows-1251')).toBe('\u0098');
    expect(decode([0xae, 0xbe], 'koi8-u')).toBe('ўЎ');
    expect(decode([0xa2, 0xb6, 0xff], 'x-mac-cyrillic')).toBe('Ґґ€');
    expect(decode([0xbd, 0xdb, 0xf0], 'macintosh')).toBe('Ω€\uf8ff');
    expect(decode([0xa1, 0x80, 0xdb], 'windows-874')).toBe('ก€\ufffd');
    expect(decode([0xe0], 'iso-8859-8-i')).toBe('א');
    expect(decode([0x80], 'ibm866')).toBe('А');
  });

  it('decodes Shift_JIS as Windows-31J', () => {
    expect(decodeBody(iconv.encode(JAPANESE, 'shift_jis'), 'shift_jis')).toBe(JAPANESE);
    expect(decode([0x5c, 0x7e, 0x80, 0xb1], 'sjis')).toBe('\\~\u0080ｱ');
    expect(decode([0x87, 0x40, 0xed, 0x40], 'shift_jis')).toBe('①纊');
    // Windows' end-user-defined area, to its last code.
    expect(decode([0xf0, 0x40, 0xf9, 0xfc], 'shift_jis')).toBe('\ue000\ue757');
    // A bad trail byte is reread only when it is ASCII.
    expect(decode([0x81, 0x20, 0xec, 0xd9, 0x46], 'shift_jis')).toBe('\ufffd \ufffdF');
    expect(decode([0x81], 'shift_jis')).toBe('\ufffd');
  });

  it('decodes EUC-KR as windows-949', () => {
    const korean = '똠방각하 동해 물과';
    expect(decodeBody(iconv.encode(korean, 'cp949'), 'euc-kr')).toBe(korean);
    expect(decode([0xb0, 0x20], 'ks_c_5601-1987')).toBe('\ufffd ');
  });

  it('decodes GBK with the gb18030 decoder', () => {
    const chinese = '中华人民共和国';
    expect(decodeBody(iconv.encode(chinese, 'gbk'), 'gbk')).toBe(chinese);
    expect(decodeBody(iconv.encode(chinese, 'gbk'), 'gb2312')).toBe(chinese);
    expect(decode([0x80], 'gbk')).toBe('€');
    expect(decode([0x81, 0x30, 0x81, 0x30, 0x94, 0x39, 0xfc, 0x36], 'gbk')).toBe('\u0080😀');
    // GB18030-2022 mappings.
    expect(decode([0xa6, 0xd9, 0xfe, 0x59], 'gb18030')).toBe('\ufe10\u9fb4');
    // An unfinished four-byte code is one error.
    expect(decode([0x41, 0x81, 0x30, 0x81], 'gb18030')).toBe('A\ufffd');
  });

  it('decodes Big5 with HKSCS', () => {
    const chinese = '中華民國';
    expect(decodeBody(iconv.encode(chinese, 'big5'), 'big5')).toBe(chinese);
    expect(decode([0x88, 0x62, 0x88, 0x64], 'big5')).toBe('\u00ca\u0304\u00ca\u030c');
    expect(decode([0x87, 0x40], 'big5')).toBe('䏰');
  });

  it('decodes EUC-JP and ISO-2022-JP', () => {
    expect(decodeBody(iconv.encode(JAPANESE, 'euc-jp'), 'euc-jp')).toBe(JAPANESE);
    expect(decode([0x8e, 0xb1, 0x8f, 0xb0, 0xa1], 'euc-jp')).toBe('ｱ丂');
    const jis = [0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4b, 0x5c, 0x1b, 0x28, 0x42, 0x41];
    expect(decode(jis, 'iso-2022-jp')).toBe('日本A');
    expect(decode([0x1b, 0x28, 0x4a, 0x5c, 0x7e, 0x1b, 0x28, 0x49, 0x31], 'iso-2022-jp')).toBe('¥‾ｱ');
    // Two escapes in a row, and an escape that is not one.
    expect(decode([0x1b, 0x28, 0x4a, 0x1b, 0x28, 0x42, 0x41], 'iso-2022-jp')).toBe('\ufffdA');
    expect(decode([0x1b, 0x41], 'iso-2022-jp')).toBe('\ufffdA');
  });

  it('decodes x-user-defined to U+F780-U+F7FF', () => {
    expect(decode([0x41, 0x80, 0xff], 'x-user-defined')).toBe('A\uf780\uf7ff');
  });

  it('decodes replacement to a single U+FFFD, and nothing to nothing', () => {
    expect(decode(bytes('<p>hello</p>'), 'replacement')).toBe('\ufffd');
    expect(decode([], 'iso-2022-kr')).toBe('');
  });

  it('decodes UTF-8 and UTF-16 with replacement characters for bad input', () => {
    expect(decode([0x63, 0x61, 0x66, 0xc3, 0xa9, 0xc3], 'utf-8')).toBe('café\ufffd');
    expect(decode([0xd8, 0x3d, 0xde, 0x00, 0x00, 0x41], 'utf-16be')).toBe('😀A');
    expect(decode([0x41, 0x00, 0x00, 0xd8], 'utf-16le')).toBe('A\ufffd');
  });

  it('lets a BOM win over the encoding and drops it', () => {
    expect(decode([0xef, 0xbb, 0xbf, 0xc3, 0xa9], 'windows-1252')).toBe('é');
    expect(decode([0xff, 0xfe, 0x41, 0x00], 'utf-8')).toBe('A');
    expect(decode([0xfe, 0xff, 0x00, 0x41], 'replacement')).toBe('A');
    // Only the first BOM.
    expect(decode([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x41], 'utf-8')).toBe('\ufeffA');
  });

  it('reads an unknown label as UTF-8', () => {
    expect(decode([0xc3, 0xa9], 'no-such-thing')).toBe('é');
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
      '/ru-late-meta': {
        type: 'text/html',
        body: iconv.encode(
          `${LONG_HEAD}<meta charset="windows-1251"></head><h1>${RUSSIAN}</h1></html>`,
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
      '/unlabelled-cp1252': {
        type: 'text/html',
        body: iconv.encode('<html><h1>café “quoted”</h1></html>', 'windows-1252'),
      },
    };
    server = await startServer((req, res) => {
      const page = pages[req.url ?? ''];
      if (!page) return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': page.type }).end(page.body);
    });
  });
  afterAll(() => server.close());

  it('windows-1251, Shift_JIS and windows-1252 by header, meta, http-equiv, a later meta and fallback', async () => {
    const paths = [
      '/ru-header',
      '/ru-meta',
      '/ru-late-meta',
      '/ja-http-equiv',
      '/ja-header',
      '/cp1252',
      '/unlabelled-cp1252',
    ];
    const items: Array<{ path: string; h1: string; encoding: string }> = [];
    const c = crawl(
      defineSpider({
        name: 'charsets',
        startUrls: paths.map((p) => `${server.origin}${p}`),
        parse: (page) => [
          { path: new URL(page.url).pathname, h1: page.$('h1').text(), encoding: page.encoding },
        ],
      }),
      { workers: 0 },
    );
    for await (const item of c) items.push(item as { path: string; h1: string; encoding: string });
    const byPath = Object.fromEntries(items.map((i) => [i.path, [i.encoding, i.h1]]));
    expect(byPath).toEqual({
      '/ru-header': ['windows-1251', RUSSIAN],
      '/ru-meta': ['windows-1251', RUSSIAN],
      '/ru-late-meta': ['windows-1251', RUSSIAN],
      '/ja-http-equiv': ['shift_jis', JAPANESE],
      '/ja-header': ['shift_jis', JAPANESE],
      '/cp1252': ['windows-1252', '€ “quoted” – ™'],
      '/unlabelled-cp1252': ['windows-1252', 'café “quoted”'],
    });
  });
});
