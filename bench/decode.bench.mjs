// Decoding legacy charsets: trawl's decoders (the Encoding Standard's algorithms over index tables)
// against iconv-lite, which they replaced for multi-byte encodings because it differs from the
// standard on malformed input and on some code points. Each round decodes ~1 MB of text per
// encoding; the figure is MB/s, median of the rounds, and how many of 2,000 random byte strings
// decode differently from iconv-lite.
import iconv from 'iconv-lite';
import { decodeBody } from '../dist/decode.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const SAMPLE =
  '吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。 한국어 텍스트입니다. 中文文本，繁體中文。 ASCII text 123. ';
const CODECS = [
  ['shift_jis', 'cp932'],
  ['euc-jp', 'euc-jp'],
  ['euc-kr', 'cp949'],
  ['gbk', 'gb18030'],
  ['gb18030', 'gb18030'],
  ['big5', 'big5hkscs'],
  ['windows-1251', 'windows-1251'],
];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;

console.log('encoding      trawl MB/s  iconv-lite MB/s  differs on random bytes');
for (const [label, codec] of CODECS) {
  const text = SAMPLE.repeat(Math.ceil(1_000_000 / Buffer.byteLength(SAMPLE)));
  const bytes = new Uint8Array(iconv.encode(text, codec));
  decodeBody(bytes, label); // builds the index table once, as a parser thread does on first use
  const ours = [];
  const theirs = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now();
    decodeBody(bytes, label);
    ours.push(bytes.length / 1e6 / ((performance.now() - t) / 1000));
    t = performance.now();
    iconv.decode(Buffer.from(bytes), codec);
    theirs.push(bytes.length / 1e6 / ((performance.now() - t) / 1000));
  }
  let differs = 0;
  for (let i = 0; i < 2000; i++) {
    const junk = new Uint8Array(Array.from({ length: 16 }, () => Math.floor(random() * 256)));
    if (decodeBody(junk, label) !== iconv.decode(Buffer.from(junk), codec)) differs++;
  }
  console.log(
    `${label.padEnd(13)} ${median(ours).toFixed(0).padStart(10)}  ${median(theirs).toFixed(0).padStart(15)}  ${String(differs).padStart(8)} of 2000`,
  );
}
