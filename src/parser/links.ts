/**
 * Why a link found on a page does not become a request:
 * - `fragment`: `#top` and the like, the same page;
 * - `scheme`: anything but http(s) (javascript:, mailto:, tel:, data:, about:, blob:, ftp:, ...);
 * - `empty`: an empty href (the page itself) or an element without one;
 * - `invalid`: an href the URL parser rejects (`http://[oops`).
 */
export type LinkDrop = 'fragment' | 'scheme' | 'empty' | 'invalid';

/** Links a page dropped, by reason; travels back with the page's results into the crawl stats. */
export type LinkDrops = Record<LinkDrop, number>;

export function noDrops(): LinkDrops {
  return { fragment: 0, scheme: 0, empty: 0, invalid: 0 };
}

const DROP_REASONS: ReadonlySet<string> = new Set(Object.keys(noDrops()));

export function isLinkDrop(result: string): result is LinkDrop {
  return DROP_REASONS.has(result);
}

/**
 * Leading and trailing C0 controls and spaces, and every tab or newline, are what the WHATWG URL
 * parser strips before it reads an href; the same is stripped here to see what the href starts with.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const STRIPPED = /^[\u0000-\u0020]+|[\u0000-\u0020]+$|[\t\n\r]/g;

/**
 * An href found on a page as an absolute http(s) URL without fragment, or the reason it is not one
 * (a LinkDrop; tell them apart with isLinkDrop).
 * Never throws: the real web is full of links that are not pages.
 */
export function classifyLink(href: string, base: string): string {
  const trimmed = href.replace(STRIPPED, '');
  if (trimmed === '') return 'empty';
  if (trimmed.startsWith('#')) return 'fragment';
  let url: URL;
  try {
    url = new URL(trimmed, base);
  } catch {
    // `javascript:void(0` and friends: a scheme that is not ours, even when the rest is broken.
    return /^[a-z][a-z0-9+.-]*:/i.test(trimmed) && !/^https?:/i.test(trimmed) ? 'scheme' : 'invalid';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'scheme';
  url.hash = '';
  return url.href;
}

/** Resolves an href found on a page into an absolute http(s) URL without fragment, or undefined. */
export function resolveLink(href: string | undefined | null, base: string): string | undefined {
  if (typeof href !== 'string') return undefined;
  const result = classifyLink(href, base);
  return isLinkDrop(result) ? undefined : result;
}

/** The document's base URL: `<base href>` resolved against the page URL when present. */
export function baseUrl(pageUrl: string, baseHref: string | undefined): string {
  if (!baseHref) return pageUrl;
  try {
    const base = new URL(baseHref.replace(STRIPPED, ''), pageUrl);
    // A `<base href="javascript:...">` or data: base cannot resolve relative links (HTML: fallback).
    return base.protocol === 'http:' || base.protocol === 'https:' ? base.href : pageUrl;
  } catch {
    return pageUrl;
  }
}
