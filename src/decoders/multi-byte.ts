/**
 * The Encoding Standard's multi-byte decoders (gb18030, Big5, EUC-JP, Shift_JIS, EUC-KR); iconv-lite
 * recovers from malformed input differently, so only its tables are used (see ./indexes.ts).
 */
import { Output, REPLACEMENT } from './code-units.js';
import {
  big5Index,
  big5Pointer,
  eucKrIndex,
  eucKrPointer,
  gb18030Index,
  gb18030RangesCodePoint,
  gbPointer,
  jis0208Index,
  jis0212Index,
  jisPointer,
  shiftJisIndex,
  shiftJisPointer,
} from './indexes.js';

// Each decoder reads byte `i`, -1 at the end of the input. "Restoring" bytes to the input, as the
// standard says, steps `i` back so they are read again.

export function gb18030(bytes: Uint8Array): string {
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

/** Big5 pointers that stand for two code points, which an index cannot hold. */
const BIG5_PAIRS: Readonly<Record<number, readonly [number, number]>> = {
  1133: [0x00ca, 0x0304],
  1135: [0x00ca, 0x030c],
  1164: [0x00ea, 0x0304],
  1166: [0x00ea, 0x030c],
};

export function big5(bytes: Uint8Array): string {
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

export function eucJp(bytes: Uint8Array): string {
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

export function shiftJis(bytes: Uint8Array): string {
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

export function eucKr(bytes: Uint8Array): string {
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
