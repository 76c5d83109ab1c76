/** The multi-byte encodings' indexes (pointer to code point), read out of iconv-lite's tables. */
import iconv from 'iconv-lite';
import { lazy, REPLACEMENT } from './code-units.js';

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

export const gbPointer = (lead: number, trail: number) =>
  (lead - 0x81) * 190 + trail - (trail < 0x7f ? 0x40 : 0x41);
export const big5Pointer = (lead: number, trail: number) =>
  (lead - 0x81) * 157 + trail - (trail < 0x7f ? 0x40 : 0x62);
export const jisPointer = (lead: number, trail: number) => (lead - 0xa1) * 94 + trail - 0xa1;
export const eucKrPointer = (lead: number, trail: number) => (lead - 0x81) * 190 + trail - 0x41;
export const shiftJisPointer = (lead: number, trail: number) =>
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

export const gb18030Index = lazy(() => {
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

export const big5Index = lazy(() =>
  indexFromIconv(
    'big5-hkscs',
    19782,
    pairs(span(0x81, 0xfe), [...span(0x40, 0x7e), ...span(0xa1, 0xfe)], big5Pointer),
  ),
);
export const jis0208Index = lazy(() =>
  indexFromIconv('euc-jp', 8836, pairs(span(0xa1, 0xfe), span(0xa1, 0xfe), jisPointer)),
);
export const jis0212Index = lazy(() =>
  indexFromIconv('euc-jp', 8836, pairs(span(0xa1, 0xfe), span(0xa1, 0xfe), jisPointer, 0x8f)),
);
export const eucKrIndex = lazy(() =>
  indexFromIconv('cp949', 23940, pairs(span(0x81, 0xfe), span(0x41, 0xfe), eucKrPointer)),
);
export const shiftJisIndex = lazy(() =>
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

/** Encoding Standard "index gb18030 ranges code point". */
export function gb18030RangesCodePoint(pointer: number): number | undefined {
  if (pointer <= 39419) return gb18030Ranges()[pointer] || undefined;
  if (pointer >= 189000 && pointer <= 1237575) return 0x10000 + pointer - 189000;
  return undefined;
}
