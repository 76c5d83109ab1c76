/**
 * A streaming sitemap reader: XML sitemaps and sitemap indexes (any namespace or prefix), RSS 2.0
 * and Atom feeds, and plain-text sitemaps, as the sitemaps.org protocol allows; gzipped or not.
 * The body is decompressed and parsed in slices, and each entry is handed out as it closes, so
 * memory stays bounded by the entries, not the document (no DOM is built).
 */
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { Parser } from 'htmlparser2';
import { BodyTooLargeError, DecodeError } from '../errors.js';

/** One `<url>` (or feed item) or one `<sitemap>` of an index. */
export interface SitemapEntry {
  kind: 'url' | 'sitemap';
  loc: string;
  /** As written (W3C datetime, or an RFC 822 date in RSS); absent when the entry has none. */
  lastmod?: string;
  /** `<xhtml:link rel="alternate" href>` of the entry (hreflang versions). */
  alternates?: string[];
}

type SitemapFormat = 'urlset' | 'sitemapindex' | 'rss' | 'atom' | 'text' | 'unknown';

export interface SitemapSummary {
  format: SitemapFormat;
  gzipped: boolean;
  /** Entries handed to `onEntry`. */
  entries: number;
  /** Entries past `maxEntries`, counted and not handed out. */
  overLimit: number;
  /** Uncompressed bytes read. */
  bytes: number;
}

export interface SitemapLimits {
  /** Cap on the uncompressed size; a gzip bomb stops here with BodyTooLargeError. */
  maxBytes: number;
  /** Entries handed out per file; the protocol allows 50,000. */
  maxEntries: number;
}

/** The sitemaps.org per-file limits. */
export const SITEMAP_MAX_ENTRIES = 50_000;

const SLICE_BYTES = 256 * 1024;
/** Longer text in a loc or lastmod is no URL; it is cut here rather than buffered. */
const MAX_FIELD_CHARS = 8192;

const isGzip = (body: Uint8Array) => body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;

/** Reads a sitemap body and calls `onEntry` for each entry, in document order. */
export async function readSitemap(
  body: Uint8Array,
  onEntry: (entry: SitemapEntry) => void,
  limits: SitemapLimits,
): Promise<SitemapSummary> {
  const gzipped = isGzip(body);
  const summary: SitemapSummary = { format: 'unknown', gzipped, entries: 0, overLimit: 0, bytes: 0 };
  const emit = (entry: SitemapEntry) => {
    if (summary.entries >= limits.maxEntries) summary.overLimit++;
    else {
      summary.entries++;
      onEntry(entry);
    }
  };
  const decoder = new TextDecoder('utf-8');
  let sink: ((text: string) => void) | undefined;
  let end = () => undefined as void;
  const take = (bytes: Uint8Array) => {
    summary.bytes += bytes.length;
    if (summary.bytes > limits.maxBytes) throw new BodyTooLargeError(limits.maxBytes, 'decoded');
    const text = decoder.decode(bytes, { stream: true });
    if (!sink) {
      // The first visible character tells XML from a plain list of URLs.
      const first = /[^\s\uFEFF]/.exec(text)?.[0];
      if (first === undefined) return;
      const reader = first === '<' ? xmlReader(summary, emit) : textReader(summary, emit);
      sink = reader.write;
      end = reader.end;
    }
    sink(text);
  };
  if (gzipped) await gunzipInto(body, take);
  else for (let at = 0; at < body.length; at += SLICE_BYTES) take(body.subarray(at, at + SLICE_BYTES));
  const rest = decoder.decode();
  if (rest && sink) sink(rest);
  end();
  return summary;
}

async function gunzipInto(body: Uint8Array, take: (bytes: Uint8Array) => void): Promise<void> {
  const gunzip = zlib.createGunzip({ chunkSize: 64 * 1024 });
  const source = Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
  source.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) take(chunk);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    throw new DecodeError(`cannot decompress gzipped sitemap: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

interface Reader {
  write: (text: string) => void;
  end: () => void;
}

/** One URL per line (UTF-8); lines that are not http(s) URLs are skipped. */
function textReader(summary: SitemapSummary, emit: (entry: SitemapEntry) => void): Reader {
  summary.format = 'text';
  let carry = '';
  const line = (raw: string) => {
    const url = raw.trim();
    if (/^https?:\/\/\S+$/i.test(url)) emit({ kind: 'url', loc: url });
  };
  return {
    write(text) {
      const lines = (carry + text).split(/\r\n|\r|\n/);
      carry = lines.pop() ?? '';
      if (carry.length > MAX_FIELD_CHARS) carry = '';
      for (const l of lines) line(l);
    },
    end: () => line(carry),
  };
}

const ROOTS: Record<string, SitemapFormat> = {
  urlset: 'urlset',
  sitemapindex: 'sitemapindex',
  rss: 'rss',
  feed: 'atom',
};
/** The element that holds one entry, per format, and the child elements read from it. */
const ENTRY: Partial<Record<SitemapFormat, { within: string; tag: string; loc: string; lastmod: string[] }>> =
  {
    urlset: { within: 'urlset', tag: 'url', loc: 'loc', lastmod: ['lastmod'] },
    sitemapindex: { within: 'sitemapindex', tag: 'sitemap', loc: 'loc', lastmod: ['lastmod'] },
    rss: { within: 'channel', tag: 'item', loc: 'link', lastmod: ['pubdate'] },
    atom: { within: 'feed', tag: 'entry', loc: 'link', lastmod: ['updated', 'published'] },
  };

/** `ns:Tag` -> `tag`: prefixes and namespace versions vary between generators. */
const localName = (name: string) => name.slice(name.indexOf(':') + 1).toLowerCase();

function xmlReader(summary: SitemapSummary, emit: (entry: SitemapEntry) => void): Reader {
  const stack: string[] = [];
  let entry: { loc: string; lastmod?: string; alternates?: string[] } | undefined;
  let field: 'loc' | 'lastmod' | undefined;
  let text = '';
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const local = localName(name);
        const parent = stack.at(-1);
        stack.push(local);
        if (stack.length === 1) summary.format = ROOTS[local] ?? 'unknown';
        const shape = ENTRY[summary.format];
        if (!shape) return;
        if (local === shape.tag && parent === shape.within) entry = { loc: '' };
        if (!entry || parent !== shape.tag) return;
        if (local === 'link' && attribs.href !== undefined) {
          const rel = attribs.rel ?? 'alternate';
          if (name.includes(':') && rel === 'alternate') (entry.alternates ??= []).push(attribs.href.trim());
          else if (summary.format === 'atom' && rel === 'alternate' && !entry.loc)
            entry.loc = attribs.href.trim();
          return;
        }
        if (local === shape.loc) field = 'loc';
        else if (shape.lastmod.includes(local) && entry.lastmod === undefined) field = 'lastmod';
        text = '';
      },
      ontext(chunk) {
        if (field && text.length < MAX_FIELD_CHARS) text += chunk;
      },
      onclosetag() {
        const local = stack.pop();
        const shape = ENTRY[summary.format];
        if (!shape || !entry) return;
        if (field && stack.at(-1) === shape.tag) {
          const value = text.trim();
          if (field === 'loc' && value && !entry.loc) entry.loc = value;
          if (field === 'lastmod' && value) entry.lastmod = value;
          field = undefined;
        } else if (local === shape.tag && stack.at(-1) === shape.within) {
          if (entry.loc)
            emit({
              kind: summary.format === 'sitemapindex' ? 'sitemap' : 'url',
              loc: entry.loc,
              ...(entry.lastmod !== undefined ? { lastmod: entry.lastmod } : {}),
              ...(entry.alternates ? { alternates: entry.alternates } : {}),
            });
          entry = undefined;
        }
      },
    },
    { xmlMode: true, decodeEntities: true },
  );
  return { write: (chunk) => parser.write(chunk), end: () => parser.end() };
}
