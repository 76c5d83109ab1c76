import { encodingFromBom, getEncoding } from './encodings.js';
import { iso2022Jp } from './decoders/iso-2022-jp.js';
import { big5, eucJp, eucKr, gb18030, shiftJis } from './decoders/multi-byte.js';
import { singleByteTable, withTable, xUserDefined } from './decoders/single-byte.js';

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
