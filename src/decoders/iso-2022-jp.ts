/** The Encoding Standard's ISO-2022-JP decoder: a state machine switched by escape sequences. */
import { Output, REPLACEMENT } from './code-units.js';
import { jis0208Index } from './indexes.js';

const ASCII = 0;
const ROMAN = 1;
const KATAKANA = 2;
const LEADING_BYTE = 3;
const TRAILING_BYTE = 4;
const ESCAPE_START = 5;
const ESCAPE = 6;

/** The decoder's variables, as the standard names them. */
interface Decoder {
  out: Output;
  state: number;
  outputState: number;
  lead: number;
  /** The "output flag": set by an escape sequence, cleared by anything output after it. */
  output: boolean;
}

// The decoder reads byte `i`, -1 at the end of the input. Each step returns how far `i` steps
// back: "restoring" bytes to the input, as the standard says, so they are read again.

export function iso2022Jp(bytes: Uint8Array): string {
  const length = bytes.length;
  const decoder: Decoder = {
    out: new Output(length),
    state: ASCII,
    outputState: ASCII,
    lead: 0,
    output: false,
  };
  for (let i = 0; ; i++) {
    const byte = i < length ? bytes[i]! : -1;
    if (byte === 0x1b && decoder.state <= TRAILING_BYTE) {
      if (decoder.state === TRAILING_BYTE) decoder.out.push(REPLACEMENT);
      decoder.state = ESCAPE_START;
      continue;
    }
    if (byte < 0 && decoder.state <= LEADING_BYTE) break;
    i -= step(decoder, byte);
  }
  return decoder.out.toString();
}

/** One byte in the current state; returns the number of bytes to read again. */
function step(decoder: Decoder, byte: number): number {
  switch (decoder.state) {
    case TRAILING_BYTE:
      trailingByte(decoder, byte);
      return 0;
    case ESCAPE_START:
      return escapeStart(decoder, byte);
    case ESCAPE:
      return escape(decoder, byte);
    default:
      decoder.output = false;
      textByte(decoder, byte);
      return 0;
  }
}

/** A byte in the ASCII, Roman, katakana or lead-byte state. */
function textByte(decoder: Decoder, byte: number): void {
  const { out } = decoder;
  switch (decoder.state) {
    case ASCII:
      out.push(byte <= 0x7f && byte !== 0x0e && byte !== 0x0f ? byte : REPLACEMENT);
      break;
    case ROMAN:
      if (byte === 0x5c) out.push(0x00a5);
      else if (byte === 0x7e) out.push(0x203e);
      else out.push(byte <= 0x7f && byte !== 0x0e && byte !== 0x0f ? byte : REPLACEMENT);
      break;
    case KATAKANA:
      out.push(byte >= 0x21 && byte <= 0x5f ? 0xff61 - 0x21 + byte : REPLACEMENT);
      break;
    case LEADING_BYTE:
      if (byte >= 0x21 && byte <= 0x7e) {
        decoder.lead = byte;
        decoder.state = TRAILING_BYTE;
      } else out.push(REPLACEMENT);
      break;
  }
}

function trailingByte(decoder: Decoder, byte: number): void {
  const { lead } = decoder;
  decoder.state = LEADING_BYTE;
  decoder.out.push(
    (byte >= 0x21 && byte <= 0x7e && jis0208Index()[(lead - 0x21) * 94 + byte - 0x21]) || REPLACEMENT,
  );
}

/** The byte after ESC: `$` or `(` starts a sequence; anything else is an error and read again. */
function escapeStart(decoder: Decoder, byte: number): number {
  if (byte === 0x24 || byte === 0x28) {
    decoder.lead = byte;
    decoder.state = ESCAPE;
    return 0;
  }
  decoder.output = false;
  decoder.state = decoder.outputState;
  decoder.out.push(REPLACEMENT);
  return byte >= 0 ? 1 : 0;
}

/** The last byte of an escape sequence: the state it switches to, else an error. */
function escape(decoder: Decoder, byte: number): number {
  const leading = decoder.lead;
  decoder.lead = 0;
  const next = escapeTarget(leading, byte);
  if (next >= 0) {
    decoder.state = decoder.outputState = next;
    // Two escape sequences in a row are an error.
    if (decoder.output) decoder.out.push(REPLACEMENT);
    decoder.output = true;
    return 0;
  }
  // The escape's second byte, and the byte after it unless the input ended, are read again.
  decoder.output = false;
  decoder.state = decoder.outputState;
  decoder.out.push(REPLACEMENT);
  return 2;
}

/** The state `ESC lead byte` switches to: ESC ( B, ESC ( J, ESC ( I, ESC $ @ or ESC $ B; else -1. */
function escapeTarget(lead: number, byte: number): number {
  if (lead === 0x28 && byte === 0x42) return ASCII;
  if (lead === 0x28 && byte === 0x4a) return ROMAN;
  if (lead === 0x28 && byte === 0x49) return KATAKANA;
  if (lead === 0x24 && (byte === 0x40 || byte === 0x42)) return LEADING_BYTE;
  return -1;
}
