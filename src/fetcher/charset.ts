/**
 * Picks the character encoding of a response the way browsers do: BOM first, then the
 * Content-Type charset, then a <meta> in the first 1024 bytes, else UTF-8. Returns a WHATWG label;
 * the parser decodes (in the worker, off the main thread).
 */

const META_SCAN_BYTES = 1024;

export function detectEncoding(contentType: string | undefined, bytes: Uint8Array): string {
  const bom = encodingFromBom(bytes);
  if (bom) return bom;
  const fromHeader = charsetFromContentType(contentType);
  if (fromHeader) return normalizeLabel(fromHeader);
  if (!contentType || /html|xml/i.test(contentType)) {
    const fromMeta = charsetFromMeta(bytes);
    if (fromMeta) return normalizeLabel(fromMeta);
  }
  return 'utf-8';
}

export function encodingFromBom(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  return undefined;
}

export function charsetFromContentType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return match?.[1];
}

export function charsetFromMeta(bytes: Uint8Array): string | undefined {
  // Latin-1 maps bytes 1:1 to code units, so ASCII markup is found whatever the real encoding is.
  const head = Buffer.from(
    bytes.buffer,
    bytes.byteOffset,
    Math.min(bytes.byteLength, META_SCAN_BYTES),
  ).toString('latin1');
  const direct = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head);
  if (direct?.[1]) return direct[1];
  const httpEquiv = /<meta[^>]+content\s*=\s*["'][^"']*charset\s*=\s*([\w.:-]+)/i.exec(head);
  return httpEquiv?.[1];
}

/** WHATWG: latin1 and ascii labels mean windows-1252; a page that claims UTF-16 in <meta> is UTF-8. */
const WINDOWS_1252_LABELS = new Set([
  'iso-8859-1',
  'iso8859-1',
  'iso_8859-1',
  'latin1',
  'l1',
  'us-ascii',
  'ascii',
  'cp1252',
  'x-cp1252',
]);

export function normalizeLabel(label: string): string {
  const lower = label.trim().toLowerCase();
  if (WINDOWS_1252_LABELS.has(lower)) return 'windows-1252';
  if (lower === 'utf8') return 'utf-8';
  return lower;
}
