/**
 * Picks the character encoding of a response as browsers do: the Encoding Standard's labels and BOM
 * sniffing, and the HTML Standard's "determining the character encoding" (13.2.3.2) with its
 * prescan. The result is the encoding's name in lowercase, as TextDecoder's `encoding` spells it;
 * src/decode.ts decodes the bytes with it, in the parser worker.
 */
import { isUtf8 } from 'node:buffer';
import { encodingFromBom, getEncoding } from '../encodings.js';
import { charsetFromLateMeta, charsetFromMeta, charsetFromXmlDeclaration } from './meta-prescan.js';
import { extractMimeType, isXmlMimeType } from './mime-type.js';

export { charsetFromMeta, charsetFromMetaContent } from './meta-prescan.js';

/**
 * The encoding to decode `bytes` with, in the HTML Standard's order: a BOM; the Content-Type
 * charset; for HTML the prescan of the first 1024 bytes, then a later `<meta>` in the head, and for
 * XML the XML declaration; else the fallback. A label that names no encoding is passed over.
 */
export function detectEncoding(contentType: string | undefined, bytes: Uint8Array): string {
  const bom = encodingFromBom(bytes);
  if (bom) return bom;
  const mimeType = extractMimeType(contentType);
  const charset = mimeType?.parameters.get('charset');
  const fromHeader = charset === undefined ? undefined : getEncoding(charset);
  if (fromHeader) return fromHeader;
  const essence = mimeType?.essence;
  if (essence !== undefined && isXmlMimeType(essence))
    return charsetFromXmlDeclaration(bytes) ?? fallback(bytes);
  // A missing or unparsable type is sniffed as HTML, as browsers do; so is any type the parser
  // reads as HTML.
  if (essence === undefined || essence.includes('html'))
    return charsetFromMeta(bytes) ?? charsetFromLateMeta(bytes) ?? fallback(bytes);
  return fallback(bytes);
}

/** The charset parameter of a Content-Type header as Fetch extracts the MIME type, unresolved. */
export function charsetFromContentType(contentType: string | undefined): string | undefined {
  return extractMimeType(contentType)?.parameters.get('charset');
}

/**
 * No label anywhere, so the standard leaves the encoding to the user agent (its steps 8 and 9).
 * Browsers in effect read such a page as UTF-8 when its bytes are valid UTF-8 and otherwise with
 * the default of most locales, windows-1252; this does the same, over the whole body.
 */
function fallback(bytes: Uint8Array): string {
  return isUtf8(bytes) ? 'utf-8' : 'windows-1252';
}
