import iconv from 'iconv-lite';
import { encodingFromBom, getEncoding } from './encodings.js';

/**
 * Decodes body bytes as the Encoding Standard's "decode" does: a BOM overrides `encoding` and is
 * dropped, then the encoding's decoder runs. UTF-8 and UTF-16 use TextDecoder. Legacy encodings
 * take their mappings from iconv-lite, not TextDecoder, because Node 20's TextDecoder maps
 * windows-1252 0x80-0x9F to control characters instead of € “ ” – ™ (nodejs/node#56542); the
 * multi-byte decoders are the standard's own, since iconv-lite recovers from malformed input
 * differently (it rereads bytes the standard consumes, and the reverse).
 */
export function decodeBody(bytes: Uint8Array, encoding: string): string {
  const bom = encodingFromBom(bytes);
  const name = bom ?? getEncoding(encoding) ?? 'utf-8';
  const input = bom === undefined ? bytes : bytes.subarray(bom === 'utf-8' ? 3 : 2);
  switch (name) {
    case 'utf-8':
    case 'utf-16le':
    case 'utf-16be':
      return new TextDecoder(name, { ignoreBOM: true }).decode(input);
    case 'gbk':
    case 'gb18030':
      return gb18030(input);
    case 'big5':
      return big5(input);
    case 'euc-jp':
      return eucJp(input);
    case 'iso-2022-jp':
      return iso2022Jp(input);
    case 'shift_jis':
      return shiftJis(input);
    case 'euc-kr':
      return eucKr(input);
    case 'replacement':
      return input.byteLength === 0 ? '' : '\ufffd';
    case 'x-user-defined':
      return withTable(input, xUserDefined());
    default:
      return withTable(input, singleByteTable(name));
  }
}

const REPLACEMENT = 0xfffd;

// --- Single-byte encodings ---

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
function singleByteTable(name: string): Uint16Array {
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

const xUserDefined = lazy(() => {
  const table = new Uint16Array(256);
  for (let b = 0; b < 256; b++) table[b] = b < 0x80 ? b : 0xf780 + b - 0x80;
  return table;
});

function withTable(bytes: Uint8Array, table: Uint16Array): string {
  const length = bytes.length;
  const out = new Uint16Array(length);
  for (let i = 0; i < length; i++) out[i] = table[bytes[i]!]!;
  return utf16(out, length);
}

// --- Multi-byte encodings: the standard's decoders over indexes read from iconv-lite ---

/** Byte sequences to read an index with: each one's pointer, and all their bytes. */
interface Sequences {
  pointers: number[];
  bytes: number[];
}

/**
 * An index (pointer to code point, 0 for none) read out of iconv-lite's table for `codec`: each
 * byte sequence is decoded on its own, kept apart from the next by a newline.
 */
function indexFromIconv(codec: string, size: number, { pointers, bytes }: Sequences): Uint32Array {
  const decoded = iconv.decode(Buffer.from(bytes), codec).split('\n');
  if (decoded.length !== pointers.length + 1) throw new Error(`cannot read the ${codec} table`);
  const index = new Uint32Array(size);
  pointers.forEach((pointer, i) => {
    const text = decoded[i]!;
    const codePoint = text.codePointAt(0) ?? REPLACEMENT;
    if (codePoint !== REPLACEMENT && text.length === (codePoint > 0xffff ? 2 : 1)) index[pointer] = codePoint;
  });
  return index;
}

/** Every lead byte followed by every trail byte, after `prefix` if given. */
function pairs(
  leads: number[],
  trails: number[],
  pointer: (lead: number, trail: number) => number,
  prefix?: number,
): Sequences {
  const sequences: Sequences = { pointers: [], bytes: [] };
  for (const lead of leads)
    for (const trail of trails) {
      sequences.pointers.push(pointer(lead, trail));
      if (prefix !== undefined) sequences.bytes.push(prefix);
      sequences.bytes.push(lead, trail, 0x0a);
    }
  return sequences;
}

const span = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const gbPointer = (lead: number, trail: number) => (lead - 0x81) * 190 + trail - (trail < 0x7f ? 0x40 : 0x41);
const big5Pointer = (lead: number, trail: number) =>
  (lead - 0x81) * 157 + trail - (trail < 0x7f ? 0x40 : 0x62);
const jisPointer = (lead: number, trail: number) => (lead - 0xa1) * 94 + trail - 0xa1;
const eucKrPointer = (lead: number, trail: number) => (lead - 0x81) * 190 + trail - 0x41;
const shiftJisPointer = (lead: number, trail: number) =>
  (lead - (lead < 0xa0 ? 0x81 : 0xc1)) * 188 + trail - (trail < 0x7f ? 0x40 : 0x41);

/**
 * GB18030-2022 moved these two-byte codes from Private Use to the characters they stand for, and
 * the standard's index follows; iconv-lite still has the 2005 mappings.
 */
const GB18030_2022: ReadonlyArray<readonly [number, number]> = [
  [0xa6d9, 0xfe10],
  [0xa6da, 0xfe12],
  [0xa6db, 0xfe11],
  [0xa6dc, 0xfe13],
  [0xa6dd, 0xfe14],
  [0xa6de, 0xfe15],
  [0xa6df, 0xfe16],
  [0xa6ec, 0xfe17],
  [0xa6ed, 0xfe18],
  [0xa6f3, 0xfe19],
  [0xfe59, 0x9fb4],
  [0xfe61, 0x9fb5],
  [0xfe66, 0x9fb6],
  [0xfe67, 0x9fb7],
  [0xfe6d, 0x9fb8],
  [0xfe7e, 0x9fb9],
  [0xfe90, 0x9fba],
  [0xfea0, 0x9fbb],
];

const gb18030Index = lazy(() => {
  const trails = [...span(0x40, 0x7e), ...span(0x80, 0xfe)];
  const index = indexFromIconv('gb18030', 23940, pairs(span(0x81, 0xfe), trails, gbPointer));
  for (const [bytes, codePoint] of GB18030_2022) index[gbPointer(bytes >> 8, bytes & 0xff)] = codePoint;
  return index;
});

/** Four-byte gb18030 codes below U+10000, by pointer: the standard's ranges index, expanded. */
const gb18030Ranges = lazy(() => {
  const sequences: Sequences = { pointers: span(0, 39419), bytes: [] };
  for (const pointer of sequences.pointers)
    sequences.bytes.push(
      0x81 + Math.floor(pointer / 12600),
      0x30 + Math.floor((pointer % 12600) / 1260),
      0x81 + Math.floor((pointer % 1260) / 10),
      0x30 + (pointer % 10),
      0x0a,
    );
  return indexFromIconv('gb18030', 39420, sequences);
});

const big5Index = lazy(() =>
  indexFromIconv(
    'big5-hkscs',
    19782,
    pairs(span(0x81, 0xfe), [...span(0x40, 0x7e), ...span(0xa1, 0xfe)], big5Pointer),
  ),
);
const jis0208Index = lazy(() =>
  indexFromIconv('euc-jp', 8836, pairs(span(0xa1, 0xfe), span(0xa1, 0xfe), jisPointer)),
);
const jis0212Index = lazy(() =>
  indexFromIconv('euc-jp', 8836, pairs(span(0xa1, 0xfe), span(0xa1, 0xfe), jisPointer, 0x8f)),
);
const eucKrIndex = lazy(() =>
  indexFromIconv('cp949', 23940, pairs(span(0x81, 0xfe), span(0x41, 0xfe), eucKrPointer)),
);
const shiftJisIndex = lazy(() =>
  indexFromIconv(
    'shift_jis',
    11280,
    pairs(
      [...span(0x81, 0x9f), ...span(0xe0, 0xfc)],
      [...span(0x40, 0x7e), ...span(0x80, 0xfc)],
      shiftJisPointer,
    ),
  ),
);

/** Decoded code units; a decoder writes at most one per input byte. */
class Output {
  private readonly units: Uint16Array;
  private length = 0;

  constructor(inputLength: number) {
    this.units = new Uint16Array(inputLength + 1);
  }

  push(codePoint: number): void {
    if (codePoint > 0xffff) {
      const offset = codePoint - 0x10000;
      this.units[this.length++] = 0xd800 | (offset >> 10);
      this.units[this.length++] = 0xdc00 | (offset & 0x3ff);
    } else this.units[this.length++] = codePoint;
  }

  toString(): string {
    return utf16(this.units, this.length);
  }
}

// Each decoder reads byte `i`, -1 at the end of the input. "Restoring" bytes to the input, as the
// standard says, steps `i` back so they are read again.

function gb18030(bytes: Uint8Array): string {
  const length = bytes.length;
  const out = new Output(length);
  const index = gb18030Index();
  let first = 0;
  let second = 0;
  let third = 0;
  for (let i = 0; ; i++) {
    const byte = i < length ? bytes[i]! : -1;
    if (byte < 0) {
      if (first !== 0 || second !== 0 || third !== 0) out.push(REPLACEMENT);
      break;
    }
    if (third !== 0) {
      if (byte < 0x30 || byte > 0x39) {
        i -= 3;
        out.push(REPLACEMENT);
      } else {
        const pointer = (first - 0x81) * 12600 + (second - 0x30) * 1260 + (third - 0x81) * 10 + byte - 0x30;
        out.push(gb18030RangesCodePoint(pointer) ?? REPLACEMENT);
      }
      first = second = third = 0;
    } else if (second !== 0) {
      if (byte >= 0x81 && byte <= 0xfe) third = byte;
      else {
        i -= 2;
        first = second = 0;
        out.push(REPLACEMENT);
      }
    } else if (first !== 0) {
      if (byte >= 0x30 && byte <= 0x39) {
        second = byte;
        continue;
      }
      const lead = first;
      first = 0;
      const codePoint =
        (byte >= 0x40 && byte <= 0x7e) || (byte >= 0x80 && byte <= 0xfe) ? index[gbPointer(lead, byte)]! : 0;
      if (codePoint !== 0) out.push(codePoint);
      else {
        if (byte < 0x80) i--;
        out.push(REPLACEMENT);
      }
    } else if (byte < 0x80) out.push(byte);
    else if (byte === 0x80) out.push(0x20ac);
    else if (byte <= 0xfe) first = byte;
    else out.push(REPLACEMENT);
  }
  return out.toString();
}

/** Encoding Standard "index gb18030 ranges code point". */
function gb18030RangesCodePoint(pointer: number): number | undefined {
  if (pointer <= 39419) return gb18030Ranges()[pointer] || undefined;
  if (pointer >= 189000 && pointer <= 1237575) return 0x10000 + pointer - 189000;
  return undefined;
}

/** Big5 pointers that stand for two code points, which an index cannot hold. */
const BIG5_PAIRS: Readonly<Record<number, readonly [number, number]>> = {
  1133: [0x00ca, 0x0304],
  1135: [0x00ca, 0x030c],
  1164: [0x00ea, 0x0304],
  1166: [0x00ea, 0x030c],
};

function big5(bytes: Uint8Array): string {
  const length = bytes.length;
  const out = new Output(length);
  const index = big5Index();
  let lead = 0;
  for (let i = 0; ; i++) {
    const byte = i < length ? bytes[i]! : -1;
    if (byte < 0) {
      if (lead !== 0) out.push(REPLACEMENT);
      break;
    }
    if (lead !== 0) {
      const pointer =
        (byte >= 0x40 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xfe) ? big5Pointer(lead, byte) : -1;
      lead = 0;
      const pair = BIG5_PAIRS[pointer];
      const codePoint = pointer < 0 ? 0 : index[pointer]!;
      if (pair) {
        out.push(pair[0]);
        out.push(pair[1]);
      } else if (codePoint !== 0) out.push(codePoint);
      else {
        if (byte < 0x80) i--;
        out.push(REPLACEMENT);
      }
    } else if (byte < 0x80) out.push(byte);
    else if (byte >= 0x81 && byte <= 0xfe) lead = byte;
    else out.push(REPLACEMENT);
  }
  return out.toString();
}

function eucJp(bytes: Uint8Array): string {
  const length = bytes.length;
  const out = new Output(length);
  let lead = 0;
  let jis0212 = false;
  for (let i = 0; ; i++) {
    const byte = i < length ? bytes[i]! : -1;
    if (byte < 0) {
      if (lead !== 0) out.push(REPLACEMENT);
      break;
    }
    if (lead === 0x8e && byte >= 0xa1 && byte <= 0xdf) {
      lead = 0;
      out.push(0xff61 - 0xa1 + byte);
    } else if (lead === 0x8f && byte >= 0xa1 && byte <= 0xfe) {
      jis0212 = true;
      lead = byte;
    } else if (lead !== 0) {
      const codePoint =
        lead >= 0xa1 && lead <= 0xfe && byte >= 0xa1 && byte <= 0xfe
          ? (jis0212 ? jis0212Index() : jis0208Index())[jisPointer(lead, byte)]!
          : 0;
      lead = 0;
      jis0212 = false;
      if (codePoint !== 0) out.push(codePoint);
      else {
        if (byte < 0x80) i--;
        out.push(REPLACEMENT);
      }
    } else if (byte < 0x80) out.push(byte);
    else if (byte === 0x8e || byte === 0x8f || (byte >= 0xa1 && byte <= 0xfe)) lead = byte;
    else out.push(REPLACEMENT);
  }
  return out.toString();
}

const ASCII = 0;
const ROMAN = 1;
const KATAKANA = 2;
const LEADING_BYTE = 3;
const TRAILING_BYTE = 4;
const ESCAPE_START = 5;
const ESCAPE = 6;

function iso2022Jp(bytes: Uint8Array): string {
  const length = bytes.length;
  const out = new Output(length);
  let state = ASCII;
  let outputState = ASCII;
  let lead = 0;
  let output = false;
  for (let i = 0; ; i++) {
    const byte = i < length ? bytes[i]! : -1;
    if (byte === 0x1b && state <= TRAILING_BYTE) {
      if (state === TRAILING_BYTE) out.push(REPLACEMENT);
      state = ESCAPE_START;
      continue;
    }
    if (byte < 0 && state <= LEADING_BYTE) break;
    switch (state) {
      case ASCII:
        output = false;
        out.push(byte <= 0x7f && byte !== 0x0e && byte !== 0x0f ? byte : REPLACEMENT);
        break;
      case ROMAN:
        output = false;
        if (byte === 0x5c) out.push(0x00a5);
        else if (byte === 0x7e) out.push(0x203e);
        else out.push(byte <= 0x7f && byte !== 0x0e && byte !== 0x0f ? byte : REPLACEMENT);
        break;
      case KATAKANA:
        output = false;
        out.push(byte >= 0x21 && byte <= 0x5f ? 0xff61 - 0x21 + byte : REPLACEMENT);
        break;
      case LEADING_BYTE:
        output = false;
        if (byte >= 0x21 && byte <= 0x7e) {
          lead = byte;
          state = TRAILING_BYTE;
        } else out.push(REPLACEMENT);
        break;
      case TRAILING_BYTE:
        state = LEADING_BYTE;
        out.push(
          (byte >= 0x21 && byte <= 0x7e && jis0208Index()[(lead - 0x21) * 94 + byte - 0x21]) || REPLACEMENT,
        );
        break;
      case ESCAPE_START:
        if (byte === 0x24 || byte === 0x28) {
          lead = byte;
          state = ESCAPE;
          break;
        }
        if (byte >= 0) i--;
        output = false;
        state = outputState;
        out.push(REPLACEMENT);
        break;
      case ESCAPE: {
        const leading = lead;
        lead = 0;
        const next =
          leading === 0x28 && byte === 0x42
            ? ASCII
            : leading === 0x28 && byte === 0x4a
              ? ROMAN
              : leading === 0x28 && byte === 0x49
                ? KATAKANA
                : leading === 0x24 && (byte === 0x40 || byte === 0x42)
                  ? LEADING_BYTE
                  : -1;
        if (next >= 0) {
          state = outputState = next;
          // Two escape sequences in a row are an error.
          if (output) out.push(REPLACEMENT);
          output = true;
          break;
        }
        // The escape's second byte, and the byte after it unless the input ended, are read again.
        i -= 2;
        output = false;
        state = outputState;
        out.push(REPLACEMENT);
        break;
      }
    }
  }
  return out.toString();
}

function shiftJis(bytes: Uint8Array): string {
  const length = bytes.length;
  const out = new Output(length);
  const index = shiftJisIndex();
  let lead = 0;
  for (let i = 0; ; i++) {
    const byte = i < length ? bytes[i]! : -1;
    if (byte < 0) {
      if (lead !== 0) out.push(REPLACEMENT);
      break;
    }
    if (lead !== 0) {
      const pointer =
        (byte >= 0x40 && byte <= 0x7e) || (byte >= 0x80 && byte <= 0xfc) ? shiftJisPointer(lead, byte) : -1;
      lead = 0;
      // Windows' end-user-defined characters (EUDC) map to Private Use.
      const codePoint =
        pointer >= 8836 && pointer <= 10715 ? 0xe000 - 8836 + pointer : pointer < 0 ? 0 : index[pointer]!;
      if (codePoint !== 0) out.push(codePoint);
      else {
        if (byte < 0x80) i--;
        out.push(REPLACEMENT);
      }
    } else if (byte <= 0x80) out.push(byte);
    else if (byte >= 0xa1 && byte <= 0xdf) out.push(0xff61 - 0xa1 + byte);
    else if ((byte >= 0x81 && byte <= 0x9f) || (byte >= 0xe0 && byte <= 0xfc)) lead = byte;
    else out.push(REPLACEMENT);
  }
  return out.toString();
}

function eucKr(bytes: Uint8Array): string {
  const length = bytes.length;
  const out = new Output(length);
  const index = eucKrIndex();
  let lead = 0;
  for (let i = 0; ; i++) {
    const byte = i < length ? bytes[i]! : -1;
    if (byte < 0) {
      if (lead !== 0) out.push(REPLACEMENT);
      break;
    }
    if (lead !== 0) {
      const codePoint = byte >= 0x41 && byte <= 0xfe ? index[eucKrPointer(lead, byte)]! : 0;
      lead = 0;
      if (codePoint !== 0) out.push(codePoint);
      else {
        if (byte < 0x80) i--;
        out.push(REPLACEMENT);
      }
    } else if (byte < 0x80) out.push(byte);
    else if (byte >= 0x81 && byte <= 0xfe) lead = byte;
    else out.push(REPLACEMENT);
  }
  return out.toString();
}

function utf16(units: Uint16Array, length: number): string {
  return Buffer.from(units.buffer, units.byteOffset, length * 2).toString('utf16le');
}

function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
