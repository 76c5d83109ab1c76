import { InvalidUrlError, SpiderInvalidError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { Spider, StartEntry } from '../spider.js';
import { isSitemapSpider, sitemapStarts } from '../sitemap/sitemap-options.js';
import type { RequestInit } from '../types.js';

/** The crawl's start requests: `start` from the options, else the spider's `start()` or `startUrls`. */
export async function startRequests(spider: Spider, options: ResolvedOptions): Promise<RequestInit[]> {
  const entries: StartEntry[] = [];
  if (options.start) entries.push(...options.start);
  else if (spider.start) for await (const entry of spider.start()) entries.push(entry);
  else if (spider.sitemapUrls?.length) entries.push(...spider.sitemapUrls);
  else entries.push(...(spider.startUrls ?? []));
  if (entries.length === 0)
    throw new SpiderInvalidError(
      `spider ${spider.name} has no start URLs (set startUrls, start(), or --start)`,
    );
  return (isSitemapSpider(spider) ? sitemapStarts(spider, entries) : entries).map((entry) => {
    const init = typeof entry === 'string' ? { url: entry } : entry;
    let url: URL;
    try {
      url = new URL(init.url);
    } catch {
      throw new InvalidUrlError(String(init.url));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidUrlError(init.url);
    return init;
  });
}

/**
 * Lower-cased hostnames followed links may go to: `allowedHosts`, else the start requests' hosts;
 * undefined (any) with `followOtherHosts`.
 */
export function followedHosts(options: ResolvedOptions, seeds: RequestInit[]): Set<string> | undefined {
  if (options.followOtherHosts) return undefined;
  return new Set(options.allowedHosts ?? seeds.map((s) => new URL(s.url).hostname.toLowerCase()));
}
