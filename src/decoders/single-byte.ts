/** The single-byte encodings, each a table of 256 code units read from iconv-lite and corrected. */
import iconv from 'iconv-lite';
import { lazy, REPLACEMENT, utf16 } from './code-units.js';

/** iconv-lite's codec for each single-byte encoding, where the names differ. */
const SINGLE_BYTE_CODECS: Readonly<Record<string, string>> = {
  ibm866: 'cp866',
  'iso-8859-8-i': 'iso-8859-8',
  'koi8-u': 'koi8-ru',
  'windows-874': 'cp874',
  'x-mac-cyrillic': 'maccyrillic',
};

/**
 * Where the standard's index differs from iconv-lite's table: Apple's later revisions of Mac OS
 * Roman (Ω as the Greek letter, €, the Apple logo) and of Mac OS Cyrillic (Ґ ґ, €).
 */
const SINGLE_BYTE_FIXES: Readonly<Record<string, Readonly<Record<number, number>>>> = {
  macintosh: { 0xbd: 0x03a9, 0xdb: 0x20ac, 0xf0: 0xf8ff },
  'x-mac-cyrillic': { 0xa2: 0x0490, 0xb6: 0x0491, 0xff: 0x20ac },
};

const singleByteTables = new Map<string, Uint16Array>();

/** Code unit for each byte value, U+FFFD where the encoding has none. */
export function singleByteTable(name: string): Uint16Array {
  let table = singleByteTables.get(name);
  if (table) return table;
  table = new Uint16Array(256);
  const high = iconv.decode(
    Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i)),
    SINGLE_BYTE_CODECS[name] ?? name,
  );
  for (let b = 0; b < 256; b++) table[b] = b < 0x80 ? b : high.charCodeAt(b - 0x80);
  // The standard's windows-* indexes (like Windows itself) map the bytes 0x80-0x9F a code page
  // leaves unassigned to the C1 controls of the same value; iconv-lite leaves them undefined.
  if (name.startsWith('windows-'))
    for (let b = 0x80; b < 0xa0; b++) if (table[b] === REPLACEMENT) table[b] = b;
  for (const [byte, codePoint] of Object.entries(SINGLE_BYTE_FIXES[name] ?? {}))
    table[Number(byte)] = codePoint;
  singleByteTables.set(name, table);
  return table;
}

export const xUserDefined = lazy(() => {
  const table = new Uint16Array(256);
  for (let b = 0; b < 256; b++) table[b] = b < 0x80 ? b : 0xf780 + b - 0x80;
  return table;
});

export function withTable(bytes: Uint8Array, table: Uint16Array): string {
  const length = bytes.length;
  const out = new Uint16Array(length);
  for (let i = 0; i < length; i++) out[i] = table[bytes[i]!]!;
  return utf16(out, length);
}
