import iconv from 'iconv-lite';

const NATIVE = new Set(['utf-8', 'utf-16le', 'utf-16be']);

/**
 * Decodes body bytes with a WHATWG label. UTF-8/16 use TextDecoder; every legacy charset goes
 * through iconv-lite, because Node 20's TextDecoder maps windows-1252 0x80-0x9F to control
 * characters instead of € “ ” – ™ (nodejs/node#56542).
 */
export function decodeBody(bytes: Uint8Array, encoding: string): string {
  const label = encoding.toLowerCase();
  if (NATIVE.has(label)) return new TextDecoder(label).decode(bytes);
  if (iconv.encodingExists(label))
    return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), label);
  return new TextDecoder('utf-8').decode(bytes);
}
