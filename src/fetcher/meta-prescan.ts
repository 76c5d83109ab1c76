/**
 * Byte scans for a declared encoding: the HTML prescan ("prescan a byte stream to determine its
 * encoding", with "get an attribute"), "get an XML encoding", and the later `<meta>` in the head.
 */
import { asciiLowercase, getEncoding } from '../encodings.js';

/** The HTML prescan's end condition: the first 1024 bytes, as the standard encourages. */
const PRESCAN_BYTES = 1024;

/** How far a `<meta>` later than the prescan is looked for (see charsetFromLateMeta). */
const LATE_META_BYTES = 64 * 1024;

/**
 * HTML "prescan a byte stream to determine its encoding" over the first 1024 bytes: the encoding a
 * `<meta>` declares (or, failing that, an XML declaration at the very start), else undefined.
 */
export function charsetFromMeta(bytes: Uint8Array): string | undefined {
  const scan = new Scan(bytes, PRESCAN_BYTES);
  try {
    return prescan(scan);
  } catch (error) {
    if (error !== OUT_OF_BYTES) throw error;
    return xmlEncoding(scan);
  }
}

/**
 * A `<meta>` declaring the encoding later than the prescan looks, in the head (before any body
 * content), as the tree builder meets it: a browser whose encoding is still tentative then
 * "changes the encoding" and parses again with it (HTML 13.2.3.4). It runs here rather than where
 * the body is decoded because the encoding is settled with the response (cached, and handed to the
 * page as `encoding`) before the body reaches a parser thread; the scan is bounded to 64 KB and
 * runs only for HTML with no BOM, no header charset and no early `<meta>`.
 */
export function charsetFromLateMeta(bytes: Uint8Array): string | undefined {
  const scan = new Scan(bytes, LATE_META_BYTES);
  try {
    return lateMeta(scan);
  } catch (error) {
    if (error !== OUT_OF_BYTES) throw error;
    return undefined;
  }
}

/** XML documents: XML 1.0 Appendix F, read with the HTML Standard's "get an XML encoding". */
export function charsetFromXmlDeclaration(bytes: Uint8Array): string | undefined {
  const scan = new Scan(bytes, PRESCAN_BYTES);
  return utf16XmlDeclaration(scan) ?? xmlEncoding(scan);
}

/**
 * Thrown when a scan needs a byte past its end: the standard's "runs out of bytes". Made once, so
 * throwing it captures no stack.
 */
const OUT_OF_BYTES = new Error('out of bytes');

/** The first `limit` bytes of a body and a position in them. */
class Scan {
  readonly bytes: Buffer;
  readonly end: number;
  pos = 0;

  constructor(body: Uint8Array, limit: number) {
    this.end = Math.min(body.byteLength, limit);
    this.bytes = Buffer.from(body.buffer, body.byteOffset, this.end);
  }

  /** The byte at `at`; past the end, the scan is over. */
  byte(at: number): number {
    if (at >= this.end) throw OUT_OF_BYTES;
    return this.bytes[at]!;
  }

  /** Whether the bytes at `at` spell `ascii`, letters in either case when `anyCase`. */
  startsWith(at: number, ascii: string, anyCase = false): boolean {
    if (at + ascii.length > this.end) return false;
    for (let i = 0; i < ascii.length; i++) {
      const b = this.bytes[at + i]!;
      if ((anyCase ? lowerByte(b) : b) !== ascii.charCodeAt(i)) return false;
    }
    return true;
  }

  /** The bytes from `from` to `to`, isomorphic decoded, ASCII letters lowercased. */
  lowercase(from: number, to: number): string {
    return asciiLowercase(this.bytes.toString('latin1', from, to));
  }

  /** The position of the next `needle` at or after `from`; none before the end ends the scan. */
  find(needle: string | number, from: number): number {
    const at = this.bytes.indexOf(needle, from, 'latin1');
    if (at < 0) throw OUT_OF_BYTES;
    return at;
  }
}

interface Attribute {
  name: string;
  value: string;
}

/**
 * HTML "get an attribute", from `scan.pos`; names and values come out ASCII-lowercased, or empty
 * unless `read` (to skip a tag's attributes).
 */
function getAttribute(scan: Scan, read = true): Attribute | null {
  let p = scan.pos;
  let b = scan.byte(p);
  while (isSpace(b) || b === 0x2f) b = scan.byte(++p);
  scan.pos = p;
  if (b === 0x3e) return null;
  const nameStart = p;
  // A name may start with `=`; a later one ends it.
  while (!(b === 0x3d && p > nameStart) && !isSpace(b) && b !== 0x2f && b !== 0x3e) b = scan.byte(++p);
  const name = read ? scan.lowercase(nameStart, p) : '';
  while (isSpace(b)) b = scan.byte(++p);
  scan.pos = p;
  if (b !== 0x3d) return { name, value: '' };
  b = scan.byte(++p);
  while (isSpace(b)) b = scan.byte(++p);
  if (b === 0x22 || b === 0x27) {
    const close = scan.find(b, p + 1);
    scan.pos = close + 1;
    return { name, value: read ? scan.lowercase(p + 1, close) : '' };
  }
  const valueStart = p;
  while (!isSpace(b) && b !== 0x3e) b = scan.byte(++p);
  scan.pos = p;
  return { name, value: read ? scan.lowercase(valueStart, p) : '' };
}

/** Step 2 of the prescan: `<?x` in UTF-16, which the standard takes at its word. */
function utf16XmlDeclaration(scan: Scan): string | undefined {
  const b = scan.bytes;
  if (scan.end < 6) return undefined;
  if (b[0] === 0x3c && b[1] === 0 && b[2] === 0x3f && b[3] === 0 && b[4] === 0x78 && b[5] === 0)
    return 'utf-16le';
  if (b[0] === 0 && b[1] === 0x3c && b[2] === 0 && b[3] === 0x3f && b[4] === 0 && b[5] === 0x78)
    return 'utf-16be';
  return undefined;
}

function prescan(scan: Scan): string {
  const utf16 = utf16XmlDeclaration(scan);
  if (utf16) return utf16;
  // The loop ends only by finding an encoding or by running out of bytes.
  for (let p = 0; ; p++) {
    if (scan.byte(p) !== 0x3c) continue;
    if (scan.startsWith(p, '<!--')) {
      // The `-->` may share its dashes with the `<!--`.
      p = scan.find('-->', p + 2) + 2;
    } else if (scan.startsWith(p, '<meta', true) && isSpaceOrSlash(scan.byte(p + 5))) {
      scan.pos = p + 5;
      const found = prescanMeta(scan);
      if (found) return found;
      p = scan.pos;
    } else if (
      isAsciiAlpha(scan.byte(p + 1)) ||
      (scan.byte(p + 1) === 0x2f && isAsciiAlpha(scan.byte(p + 2)))
    ) {
      // Another tag: its attributes are skipped, so what they hold does not count.
      p += 2;
      while (!isSpace(scan.byte(p)) && scan.byte(p) !== 0x3e) p++;
      scan.pos = p;
      while (getAttribute(scan, false));
      p = scan.pos;
    } else if (scan.byte(p + 1) === 0x21 || scan.byte(p + 1) === 0x2f || scan.byte(p + 1) === 0x3f) {
      p = scan.find(0x3e, p + 1);
    }
  }
}

/** The prescan's `<meta` steps: the attributes from `scan.pos`, then its "processing". */
function prescanMeta(scan: Scan): string | undefined {
  const seen = new Set<string>();
  let gotPragma = false;
  let needPragma: boolean | null = null;
  // null: none yet; false: a charset attribute named no encoding.
  let charset: string | false | null = null;
  for (let attribute = getAttribute(scan); attribute; attribute = getAttribute(scan)) {
    const { name, value } = attribute;
    if (seen.has(name)) continue;
    seen.add(name);
    if (name === 'http-equiv') {
      if (value === 'content-type') gotPragma = true;
    } else if (name === 'content') {
      const encoding = charsetFromMetaContent(value);
      if (encoding && charset === null) {
        charset = encoding;
        needPragma = true;
      }
    } else if (name === 'charset') {
      charset = getEncoding(value) ?? false;
      needPragma = false;
    }
  }
  if (needPragma === null || (needPragma && !gotPragma) || !charset) return undefined;
  return declared(charset);
}

/**
 * HTML "extracting a character encoding from a meta element", for a `content` attribute such as
 * `text/html; charset=Shift_JIS`.
 */
export function charsetFromMetaContent(content: string): string | undefined {
  const s = asciiLowercase(content);
  for (let position = 0; ;) {
    const at = s.indexOf('charset', position);
    if (at < 0) return undefined;
    let p = at + 7;
    while (isAsciiWhitespace(s[p])) p++;
    if (s[p] !== '=') {
      position = p;
      continue;
    }
    p++;
    while (isAsciiWhitespace(s[p])) p++;
    const c = s[p];
    if (c === undefined) return undefined;
    if (c === '"' || c === "'") {
      const close = s.indexOf(c, p + 1);
      return close < 0 ? undefined : getEncoding(s.slice(p + 1, close));
    }
    let end = p;
    while (end < s.length && !isAsciiWhitespace(s[end]) && s[end] !== ';') end++;
    return getEncoding(s.slice(p, end));
  }
}

/** HTML "get an XML encoding": the `encoding` of an `<?xml` declaration at the very start. */
function xmlEncoding(scan: Scan): string | undefined {
  const b = scan.bytes;
  if (!scan.startsWith(0, '<?xml')) return undefined;
  const declarationEnd = b.indexOf(0x3e, 5);
  if (declarationEnd < 0) return undefined;
  let p = b.indexOf('encoding', 5, 'latin1');
  if (p < 0 || p >= declarationEnd) return undefined;
  p += 8;
  while (p < scan.end && b[p]! <= 0x20) p++;
  if (b[p] !== 0x3d) return undefined;
  p++;
  while (p < scan.end && b[p]! <= 0x20) p++;
  const quote = b[p];
  if (quote !== 0x22 && quote !== 0x27) return undefined;
  const close = b.indexOf(quote, p + 1);
  if (close < 0) return undefined;
  const label = b.subarray(p + 1, close);
  if (label.some((byte) => byte <= 0x20)) return undefined;
  const encoding = getEncoding(label.toString('latin1'));
  return encoding === 'utf-16be' || encoding === 'utf-16le' ? 'utf-8' : encoding;
}

/** Start tags the tree builder takes before any body content (before html, in head, after head). */
const HEAD_TAGS = new Set([
  'html',
  'head',
  'base',
  'basefont',
  'bgsound',
  'link',
  'meta',
  'noframes',
  'noscript',
  'script',
  'style',
  'template',
  'title',
]);

/** Head elements whose content is text up to their end tag, not markup. */
const TEXT_TAGS = new Set(['noframes', 'noscript', 'script', 'style', 'title']);

/**
 * The head as the tokenizer and tree builder see it, up to the first body content: text that is
 * not whitespace, a start tag that does not belong in the head, or `</body>`, `</html>`, `</br>`.
 * The first `<meta>` whose charset (or http-equiv Content-Type content) names an encoding decides.
 */
function lateMeta(scan: Scan): string | undefined {
  const b = scan.bytes;
  for (let p = 0; p < scan.end;) {
    if (b[p] !== 0x3c) {
      if (!isSpace(b[p]!)) return undefined;
      p++;
      continue;
    }
    if (scan.startsWith(p, '<!--')) {
      p = commentEnd(scan, p + 4);
      continue;
    }
    const next = scan.byte(p + 1);
    if (next === 0x21 || next === 0x3f) {
      p = scan.find(0x3e, p + 2) + 1;
      continue;
    }
    const isEndTag = next === 0x2f;
    const nameStart = isEndTag ? p + 2 : p + 1;
    if (!isAsciiAlpha(scan.byte(nameStart))) {
      // `</>` is dropped and `</` before anything else is a bogus comment; a lone `<` is text.
      if (!isEndTag) return undefined;
      p = scan.find(0x3e, p + 2) + 1;
      continue;
    }
    let nameEnd = nameStart;
    while (!isSpaceOrSlash(scan.byte(nameEnd)) && b[nameEnd] !== 0x3e) nameEnd++;
    const name = scan.lowercase(nameStart, nameEnd);
    scan.pos = nameEnd;
    const isMeta = !isEndTag && name === 'meta';
    // The tokenizer keeps the first of repeated attributes.
    const attributes = new Map<string, string>();
    for (let a = getAttribute(scan, isMeta); a; a = getAttribute(scan, isMeta))
      if (isMeta && !attributes.has(a.name)) attributes.set(a.name, a.value);
    p = scan.pos + 1;
    if (isEndTag) {
      if (name === 'body' || name === 'html' || name === 'br') return undefined;
      continue;
    }
    if (!HEAD_TAGS.has(name)) return undefined;
    if (isMeta) {
      const found = metaInHead(attributes);
      if (found) return found;
    } else if (TEXT_TAGS.has(name)) {
      p = endTagPosition(scan, p, name);
    }
  }
  return undefined;
}

/** The tree builder's `meta` rule in the head: `charset`, else http-equiv Content-Type with content. */
function metaInHead(attributes: Map<string, string>): string | undefined {
  const charset = attributes.get('charset');
  const content = attributes.get('content');
  const encoding =
    (charset === undefined ? undefined : getEncoding(charset)) ??
    (attributes.get('http-equiv') === 'content-type' && content !== undefined
      ? charsetFromMetaContent(content)
      : undefined);
  return encoding && declared(encoding);
}

/** Where the tokenizer ends a comment whose text starts at `from`: after `-->` or `--!>`. */
function commentEnd(scan: Scan, from: number): number {
  // `<!-->` and `<!--->` are empty comments.
  if (scan.startsWith(from, '>')) return from + 1;
  if (scan.startsWith(from, '->')) return from + 2;
  for (let p = scan.find('--', from); ; p = scan.find('--', p + 1)) {
    if (scan.startsWith(p + 2, '>')) return p + 3;
    if (scan.startsWith(p + 2, '!>')) return p + 4;
  }
}

/** The position of the `</name` that ends a text element's content. */
function endTagPosition(scan: Scan, from: number, name: string): number {
  for (let p = scan.find('</', from); ; p = scan.find('</', p + 2)) {
    if (!scan.startsWith(p + 2, name, true)) continue;
    const after = scan.byte(p + 2 + name.length);
    if (isSpaceOrSlash(after) || after === 0x3e) return p;
  }
}

/** What a declaration in the document means: it cannot be UTF-16, and x-user-defined is windows-1252. */
function declared(encoding: string): string {
  if (encoding === 'utf-16be' || encoding === 'utf-16le') return 'utf-8';
  return encoding === 'x-user-defined' ? 'windows-1252' : encoding;
}

const isSpace = (b: number) => b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d || b === 0x20;
const isSpaceOrSlash = (b: number) => isSpace(b) || b === 0x2f;
const isAsciiAlpha = (b: number) => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
const lowerByte = (b: number) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b);
const isAsciiWhitespace = (c: string | undefined) =>
  c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
