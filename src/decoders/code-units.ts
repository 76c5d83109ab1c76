/** What every decoder shares: U+FFFD, the code-unit buffer it writes, and lazily built tables. */

export const REPLACEMENT = 0xfffd;

/** Decoded code units; a decoder writes at most one per input byte. */
export class Output {
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

export function utf16(units: Uint16Array, length: number): string {
  return Buffer.from(units.buffer, units.byteOffset, length * 2).toString('utf16le');
}

export function lazy<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
