/**
 * The set of request fingerprints already accepted, kept as 62-bit keys in an open-addressing table
 * of two `Uint32Array`s: about 16-32 bytes per entry instead of ~100 for a `Set<string>`, which is
 * what lets a million-URL frontier fit in a small heap. Two fingerprints that share their first 62
 * bits would be taken as one; at a million entries the chance is about 1 in 10 million.
 */
export class SeenSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let capacity = 16;
    while (capacity < initialCapacity * 2) capacity *= 2;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Adds a fingerprint; false when it was already there. */
  add(fingerprint: string): boolean {
    const [hi, lo] = keyOf(fingerprint);
    return this.addKey(hi, lo);
  }

  has(fingerprint: string): boolean {
    const [hi, lo] = keyOf(fingerprint);
    return this.slot(hi, lo, this.hi, this.lo, this.mask) < 0;
  }

  /** Adds a key as written by `keys()` (16 hex digits). */
  addHex(hex: string): boolean {
    return this.addKey(Number.parseInt(hex.slice(0, 8), 16) >>> 0, Number.parseInt(hex.slice(8), 16) >>> 0);
  }

  /** Every key as 16 hex digits, for the job directory's compacted log. */
  *keys(): Iterable<string> {
    for (let i = 0; i <= this.mask; i++) {
      const hi = this.hi[i]!;
      const lo = this.lo[i]!;
      if (hi !== 0 || lo !== 0) yield hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
    }
  }

  private addKey(hi: number, lo: number): boolean {
    // 0/0 marks an empty slot, so that one key is nudged.
    if (hi === 0 && lo === 0) lo = 1;
    const found = this.slot(hi, lo, this.hi, this.lo, this.mask);
    if (found < 0) return false;
    this.hi[found] = hi;
    this.lo[found] = lo;
    this.count++;
    if (this.count * 2 > this.mask + 1) this.grow();
    return true;
  }

  /** Index of the empty slot where the key belongs, or -1 when it is present. */
  private slot(hi: number, lo: number, his: Uint32Array, los: Uint32Array, mask: number): number {
    if (hi === 0 && lo === 0) lo = 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const h = his[i]!;
      const l = los[i]!;
      if (h === 0 && l === 0) return i;
      if (h === hi && l === lo) return -1;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const oldHi = this.hi;
    const oldLo = this.lo;
    const capacity = (this.mask + 1) * 2;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < oldHi.length; i++) {
      const hi = oldHi[i]!;
      const lo = oldLo[i]!;
      if (hi === 0 && lo === 0) continue;
      const at = this.slot(hi, lo, this.hi, this.lo, this.mask);
      this.hi[at] = hi;
      this.lo[at] = lo;
    }
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;

/**
 * The first 64 bits of a base64url fingerprint (as `fingerprint()` makes), decoded without
 * allocating. Any other string is hashed (FNV-1a, twice) so the set still works for it.
 */
function keyOf(fp: string): [number, number] {
  let hi = 0;
  let lo = 0;
  let ok = fp.length >= 11;
  for (let i = 0; ok && i < 11; i++) {
    const v = B64_VALUE[fp.charCodeAt(i)] ?? -1;
    if (v < 0) ok = false;
    // 11 chars = 66 bits: the first 5 chars (30 bits) go high, the next 6 (36 bits, top 32 kept) low.
    else if (i < 5) hi = (hi << 6) | v;
    else lo = (lo * 64 + v) % 0x1_0000_0000;
  }
  if (ok) return [hi >>> 0, lo >>> 0];
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < fp.length; i++) {
    const c = fp.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x811c9dc5) ^ (b >>> 15);
  }
  return [a >>> 0, b >>> 0];
}
