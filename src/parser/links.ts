/** Resolves an href found on a page into an absolute http(s) URL without fragment, or undefined. */
export function resolveLink(href: string | undefined | null, base: string): string | undefined {
  if (typeof href !== 'string') return undefined;
  const trimmed = href.trim();
  if (!trimmed || trimmed.startsWith('#')) return undefined;
  if (/^(javascript|mailto|tel|data|ftp|about|blob):/i.test(trimmed)) return undefined;
  let url: URL;
  try {
    url = new URL(trimmed, base);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  url.hash = '';
  return url.href;
}

/** The document's base URL: `<base href>` resolved against the page URL when present. */
export function baseUrl(pageUrl: string, baseHref: string | undefined): string {
  if (!baseHref) return pageUrl;
  try {
    return new URL(baseHref.trim(), pageUrl).href;
  } catch {
    return pageUrl;
  }
}
