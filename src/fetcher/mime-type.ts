/**
 * Content-Type parsing for charset detection: Fetch "extract a MIME type" and MIME Sniffing
 * "parse a MIME type".
 */
import { asciiLowercase } from '../encodings.js';

interface MimeType {
  essence: string;
  parameters: Map<string, string>;
}

const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HTTP_QUOTED_STRING_TOKEN = /^[\t\u0020-\u007e\u0080-\u00ff]*$/;
const isHttpWhitespace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** Fetch "extract a MIME type" from a (possibly combined) Content-Type header. */
export function extractMimeType(header: string | undefined): MimeType | undefined {
  if (header === undefined) return undefined;
  let charset: string | undefined;
  let essence: string | undefined;
  let mimeType: MimeType | undefined;
  // Repeated headers arrive joined with commas; the last valid type wins, and keeps an earlier
  // charset only while the essence stays the same.
  for (const value of splitHeaderValue(header)) {
    const parsed = parseMimeType(value);
    if (!parsed || parsed.essence === '*/*') continue;
    mimeType = parsed;
    if (mimeType.essence !== essence) {
      charset = mimeType.parameters.get('charset');
      essence = mimeType.essence;
    } else if (!mimeType.parameters.has('charset') && charset !== undefined) {
      mimeType.parameters.set('charset', charset);
    }
  }
  return mimeType;
}

/** Fetch "getting, decoding, and splitting": commas outside quoted strings separate values. */
function splitHeaderValue(input: string): string[] {
  const values: string[] = [];
  let value = '';
  let position = 0;
  for (;;) {
    let next = position;
    while (next < input.length && input[next] !== '"' && input[next] !== ',') next++;
    value += input.slice(position, next);
    position = next;
    if (position < input.length && input[position] === '"') {
      const [, end] = collectQuotedString(input, position);
      value += input.slice(position, end);
      position = end;
      if (position < input.length) continue;
    }
    values.push(value.replace(/^[\t ]+|[\t ]+$/g, ''));
    value = '';
    if (position >= input.length) return values;
    position++;
  }
}

function parseMimeType(raw: string): MimeType | undefined {
  const input = raw.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  const slash = input.indexOf('/');
  if (slash < 0) return undefined;
  const type = input.slice(0, slash);
  let position = input.indexOf(';', slash);
  if (position < 0) position = input.length;
  const subtype = input.slice(slash + 1, position).replace(/[\t\n\r ]+$/, '');
  if (!HTTP_TOKEN.test(type) || !HTTP_TOKEN.test(subtype)) return undefined;
  const mimeType: MimeType = { essence: asciiLowercase(`${type}/${subtype}`), parameters: new Map() };
  while (position < input.length) {
    position++;
    while (isHttpWhitespace(input[position])) position++;
    let end = position;
    while (end < input.length && input[end] !== ';' && input[end] !== '=') end++;
    const name = asciiLowercase(input.slice(position, end));
    position = end;
    if (position < input.length) {
      if (input[position] === ';') continue;
      position++;
    }
    if (position >= input.length) break;
    let value: string;
    if (input[position] === '"') {
      [value, position] = collectQuotedString(input, position, true);
      while (position < input.length && input[position] !== ';') position++;
    } else {
      end = input.indexOf(';', position);
      if (end < 0) end = input.length;
      value = input.slice(position, end).replace(/[\t\n\r ]+$/, '');
      position = end;
      if (value === '') continue;
    }
    if (HTTP_TOKEN.test(name) && HTTP_QUOTED_STRING_TOKEN.test(value) && !mimeType.parameters.has(name))
      mimeType.parameters.set(name, value);
  }
  return mimeType;
}

/**
 * Fetch "collect an HTTP quoted string" from the `"` at `start`: the value (unescaped when
 * `extractValue`, else the raw text) and the position after it.
 */
function collectQuotedString(input: string, start: number, extractValue = false): [string, number] {
  let value = '';
  let position = start + 1;
  for (;;) {
    let end = position;
    while (end < input.length && input[end] !== '"' && input[end] !== '\\') end++;
    value += input.slice(position, end);
    position = end;
    if (position >= input.length) break;
    const quoteOrBackslash = input[position];
    position++;
    if (quoteOrBackslash === '\\') {
      if (position >= input.length) {
        value += '\\';
        break;
      }
      value += input[position];
      position++;
    } else break;
  }
  return [extractValue ? value : input.slice(start, position), position];
}

/** MIME Sniffing: an XML MIME type. */
export function isXmlMimeType(essence: string): boolean {
  return essence.endsWith('+xml') || essence === 'text/xml' || essence === 'application/xml';
}
