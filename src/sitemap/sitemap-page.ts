/**
 * What the parser stage does with a fetched sitemap or robots.txt: the child sitemaps and the
 * pages it lists become requests (filtered by `sitemapSince`, `sitemapFollow` and
 * `sitemapRules`), handed back to the frontier like any followed link.
 */
import { parseRobots } from '../fetcher/robots.js';
import type { LogLine } from '../parser/protocol.js';
import type { RequestInit } from '../types.js';
import { readSitemap, SITEMAP_MAX_ENTRIES, type SitemapEntry } from './read-sitemap.js';
import { type CompiledSitemaps, ROBOTS_CALLBACK, sitemapRequest } from './sitemap-options.js';

/** The part of a fetched page a sitemap is read from. */
export interface SitemapPage {
  url: string;
  status: number;
  callback: string;
  body: Uint8Array;
}

/** The sitemaps.org limit on an uncompressed sitemap, used when the crawl names no body cap. */
const PROTOCOL_MAX_BYTES = 50 * 1024 * 1024;

/**
 * Reads one sitemap or robots.txt and pushes the requests it leads to. Entries read before a
 * failure (a gzip bomb hitting the cap, a truncated gzip stream) are kept; the error is thrown
 * after them, so the page is recorded as failed with its reason.
 */
export async function readSitemapPage(
  compiled: CompiledSitemaps,
  page: SitemapPage,
  maxBytes: number | undefined,
  requests: RequestInit[],
  logs: LogLine[],
): Promise<void> {
  if (page.callback === ROBOTS_CALLBACK) {
    if (page.status >= 400) {
      logs.push({
        level: 'info',
        message: `no robots.txt at ${page.url} (status ${page.status}): no sitemaps`,
      });
      return;
    }
    const { sitemaps } = parseRobots(new TextDecoder().decode(page.body), '*');
    if (sitemaps.length === 0)
      logs.push({ level: 'warn', message: `robots.txt at ${page.url} names no Sitemap:` });
    for (const href of sitemaps) {
      const url = absolute(href, page.url);
      if (url) requests.push(sitemapRequest(url));
    }
    return;
  }
  const summary = await readSitemap(
    page.body,
    (entry) => requests.push(...entryRequests(compiled, entry, page.url)),
    {
      maxBytes: maxBytes ?? PROTOCOL_MAX_BYTES,
      maxEntries: SITEMAP_MAX_ENTRIES,
    },
  );
  if (summary.format === 'unknown')
    logs.push({
      level: 'warn',
      message: `${page.url} is not a sitemap (no urlset, sitemapindex, rss or feed)`,
    });
  if (summary.overLimit > 0)
    logs.push({
      level: 'warn',
      message: `sitemap ${page.url} lists ${summary.entries + summary.overLimit} entries; only the first ${SITEMAP_MAX_ENTRIES} are read, as the protocol allows`,
    });
}

function entryRequests(compiled: CompiledSitemaps, entry: SitemapEntry, base: string): RequestInit[] {
  if (compiled.since !== undefined && entry.lastmod !== undefined) {
    // A sitemap file not modified since then lists no page modified since then either.
    const modified = Date.parse(entry.lastmod);
    if (modified < compiled.since) return [];
  }
  const url = absolute(entry.loc, base);
  if (!url) return [];
  if (entry.kind === 'sitemap') {
    if (compiled.follow.length > 0 && !compiled.follow.some((test) => test(new URL(url)))) return [];
    return [sitemapRequest(url)];
  }
  const callback = callbackFor(compiled, url);
  if (callback === undefined) return [];
  const userData = entry.lastmod !== undefined ? { userData: { lastmod: entry.lastmod } } : {};
  const out: RequestInit[] = [{ url, callback, ...userData }];
  if (compiled.alternates)
    for (const alternate of entry.alternates ?? []) {
      const other = absolute(alternate, base);
      const otherCallback = other && callbackFor(compiled, other);
      if (other && otherCallback) out.push({ url: other, callback: otherCallback });
    }
  return out;
}

function callbackFor(compiled: CompiledSitemaps, href: string): string | undefined {
  const url = new URL(href);
  for (const rule of compiled.rules) {
    if (rule.allow.length > 0 && !rule.allow.some((test) => test(url))) continue;
    if (rule.deny.some((test) => test(url))) continue;
    return rule.callback;
  }
  return undefined;
}

/** An http(s) URL, resolved against the sitemap's own (a relative loc breaks the protocol, but is common). */
function absolute(href: string, base: string): string | undefined {
  try {
    const url = new URL(href, base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
