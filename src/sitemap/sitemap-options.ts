/**
 * A spider's sitemap options: checked on the main thread when the spider loads, turned into the
 * crawl's start requests, and compiled once per parser thread.
 */
import { SpiderInvalidError } from '../errors.js';
import { compilePattern } from '../parser/rules.js';
import type { Pattern, Spider, StartEntry } from '../spider.js';
import type { RequestInit } from '../types.js';

/** The internal callbacks that read a sitemap and a robots.txt; they never reach spider code. */
const SITEMAP_CALLBACK = '$sitemap';
export const ROBOTS_CALLBACK = '$robots';

export const isSitemapCallback = (name: string) => name === SITEMAP_CALLBACK || name === ROBOTS_CALLBACK;

/** A robots.txt answered with a 4xx has no rules and so no Sitemap: lines (RFC 9309). */
const ROBOTS_MISSING = [400, 401, 403, 404, 405, 410, 451];

export const sitemapRequest = (url: string): RequestInit => ({
  url,
  callback: SITEMAP_CALLBACK,
  // Gzipped sitemaps come as application/gzip or application/x-gzip.
  acceptBinary: true,
});

const robotsRequest = (url: string): RequestInit => ({
  url,
  callback: ROBOTS_CALLBACK,
  acceptStatus: ROBOTS_MISSING,
});

export function isSitemapSpider(spider: Spider): boolean {
  return Boolean(spider.sitemapUrls?.length) || spider.sitemapFromRobots === true;
}

const LOOKS_LIKE_SITEMAP = /(\.xml|\.txt|\.rss|\.atom)(\.gz)?$|sitemap/i;

/**
 * The start entries of a sitemap spider as requests that read sitemaps: a `/robots.txt` URL is read
 * for its Sitemap: lines; with `sitemapFromRobots`, a URL that does not look like a sitemap (a home
 * page) stands for its host's robots.txt; any other URL is a sitemap. A request with its own
 * callback is left as it is.
 */
export function sitemapStarts(spider: Spider, entries: StartEntry[]): StartEntry[] {
  return entries.map((entry) => {
    if (typeof entry !== 'string' && entry.callback !== undefined) return entry;
    const href = typeof entry === 'string' ? entry : entry.url;
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      return entry; // rejected with a clear error by the seeding that follows
    }
    if (url.pathname === '/robots.txt') return robotsRequest(url.href);
    if (spider.sitemapFromRobots && !LOOKS_LIKE_SITEMAP.test(url.pathname))
      return robotsRequest(new URL('/robots.txt', url).href);
    return sitemapRequest(url.href);
  });
}

type UrlTest = (url: URL) => boolean;

export interface CompiledSitemaps {
  rules: Array<{ allow: UrlTest[]; deny: UrlTest[]; callback: string }>;
  follow: UrlTest[];
  /** Epoch ms of `sitemapSince`. */
  since: number | undefined;
  alternates: boolean;
}

export function compileSitemaps(spider: Spider): CompiledSitemaps {
  const rules = (spider.sitemapRules ?? [{}]).map((rule) => ({
    allow: toList(rule.allow).map(compilePattern),
    deny: toList(rule.deny).map(compilePattern),
    callback: rule.callback ?? 'parse',
  }));
  return {
    rules,
    follow: toList(spider.sitemapFollow).map(compilePattern),
    since: spider.sitemapSince === undefined ? undefined : new Date(spider.sitemapSince).getTime(),
    alternates: spider.sitemapAlternateLinks === true,
  };
}

function toList(patterns: Pattern | Pattern[] | undefined): Pattern[] {
  if (patterns === undefined) return [];
  return Array.isArray(patterns) ? patterns : [patterns];
}

const isPattern = (p: unknown) => (typeof p === 'string' && p !== '') || p instanceof RegExp;

/** Checks the sitemap options up front, so a typo fails the crawl at once with its path. */
export function validateSitemapOptions(spider: Spider, where: string): void {
  const fail = (message: string) => {
    throw new SpiderInvalidError(`${where}: spider.${message}`);
  };
  const { sitemapUrls, sitemapRules, sitemapFollow, sitemapSince } = spider;
  if (
    sitemapUrls !== undefined &&
    (!Array.isArray(sitemapUrls) || sitemapUrls.some((u) => typeof u !== 'string'))
  )
    fail('sitemapUrls must be an array of URLs');
  for (const key of ['sitemapFromRobots', 'sitemapAlternateLinks'] as const)
    if (spider[key] !== undefined && typeof spider[key] !== 'boolean') fail(`${key} must be true or false`);
  if (sitemapSince !== undefined && Number.isNaN(new Date(sitemapSince).getTime()))
    fail(`sitemapSince must be a Date or a date string like '2024-06-01' (got ${String(sitemapSince)})`);
  if (sitemapFollow !== undefined && !toList(sitemapFollow).every(isPattern))
    fail('sitemapFollow must be a glob string, a RegExp, or an array of them');
  if (sitemapRules === undefined) {
    if (isSitemapSpider(spider) && typeof spider.parse !== 'function')
      fail(
        `sitemapRules is missing: without it every sitemap URL goes to parse, and spider ${spider.name} has no parse`,
      );
    return;
  }
  if (!Array.isArray(sitemapRules)) fail('sitemapRules must be an array of { allow, deny, callback }');
  sitemapRules.forEach((rule, i) => {
    const path = `sitemapRules[${i}]`;
    if (typeof rule !== 'object' || rule === null) fail(`${path} must be an object like { allow, callback }`);
    for (const key of Object.keys(rule))
      if (!['allow', 'deny', 'callback'].includes(key))
        fail(`${path}.${key} is not a sitemap rule option (known: allow, deny, callback)`);
    if (![rule.allow, rule.deny].every((p) => p === undefined || toList(p).every(isPattern)))
      fail(`${path}.allow and .deny must be glob strings, RegExps, or arrays of them`);
    const callback = rule.callback ?? 'parse';
    if (typeof spider[callback] !== 'function')
      fail(
        `${path}.callback names ${JSON.stringify(callback)}, but spider ${spider.name} has no such callback`,
      );
  });
}
