import { Cookie, CookieJar } from 'tough-cookie';
import type { BrowserCookie, BrowserCookieJar } from '../render/renderer.js';

/**
 * The cookie jar of one crawl: Set-Cookie answers are kept per domain and path and sent back on
 * later requests (and redirect hops) the way a browser would. It can be saved as JSON and
 * restored, so a resumed crawl keeps its session.
 */
export class CookieSession {
  private readonly jar: CookieJar;
  /** Domains the jar has held cookies for. */
  private readonly domains = new Set<string>();
  private readonly listeners: Array<(cookies: readonly Cookie[]) => void> = [];

  /** A new jar, or the one `saved` (from `serialize`) describes. */
  constructor(saved?: string) {
    if (saved === undefined) {
      this.jar = new CookieJar(undefined, { looseMode: true });
      return;
    }
    this.jar = CookieJar.deserializeSync(saved);
    for (const cookie of this.jar.serializeSync()?.cookies ?? [])
      if (typeof cookie.domain === 'string') this.domains.add(cookie.domain.toLowerCase());
  }

  /** The Cookie header for a request to `url`, or undefined when the jar has none. */
  async header(url: string): Promise<string | undefined> {
    const value = await this.jar.getCookieString(url);
    return value || undefined;
  }

  /** Stores every Set-Cookie of a response; a cookie the jar rejects (bad domain, ...) is dropped. */
  async store(url: string, setCookie: string | string[] | undefined): Promise<void> {
    if (setCookie === undefined) return;
    const stored: Cookie[] = [];
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const cookie = await this.jar.setCookie(line, url, { ignoreError: true });
      if (!cookie) continue;
      stored.push(cookie);
      if (cookie.domain) this.domains.add(cookie.domain.toLowerCase());
    }
    if (stored.length > 0) for (const listener of this.listeners) listener(stored);
  }

  /**
   * Takes in cookies another process's jar kept (each as `Cookie.toJSON()` text), as they are:
   * they were checked against their URL when that jar stored them. Listeners are not told.
   */
  async adopt(serialized: readonly string[]): Promise<void> {
    for (const text of serialized) {
      const cookie = Cookie.fromJSON(text);
      if (!cookie) continue;
      await this.jar.store.putCookie(cookie);
      if (cookie.domain) this.domains.add(cookie.domain.toLowerCase());
    }
  }

  /** The jar as a browser sees it, for rendered pages: one session across both paths. */
  forBrowser(): BrowserCookieJar {
    return {
      get: async (url) => (await this.jar.getCookies(url)).map(toBrowser),
      put: async (url, cookies) => {
        const held = new Map((await this.jar.getCookies(url)).map((c) => [c.key, c.value]));
        const changed = cookies
          .filter((c) => held.get(c.name) !== c.value)
          .map((c) => fromBrowser(c).toString());
        if (changed.length > 0) await this.store(url, changed);
      },
    };
  }

  /** Calls `listener` with the cookies each response set (or replaced, or expired), as they are kept. */
  onChange(listener: (cookies: readonly Cookie[]) => void): void {
    this.listeners.push(listener);
  }

  /** The jar as JSON text, for the constructor to restore. */
  serialize(): string {
    return JSON.stringify(this.jar.serializeSync());
  }

  /**
   * Whether `host` or one of its parent domains has ever had a cookie stored; when not, callers
   * skip `header` (the jar lookup costs about a quarter of the fetcher's req/s).
   */
  mayHaveCookies(host: string): boolean {
    if (this.domains.size === 0) return false;
    for (let name = host.toLowerCase(); ;) {
      if (this.domains.has(name)) return true;
      const dot = name.indexOf('.');
      if (dot < 0) return false;
      name = name.slice(dot + 1);
    }
  }
}

function toBrowser(cookie: Cookie): BrowserCookie {
  const host = cookie.domain ?? '';
  const expires = cookie.expires instanceof Date ? Math.floor(cookie.expires.getTime() / 1000) : -1;
  const sameSite = (cookie.sameSite ?? '').toLowerCase();
  return {
    name: cookie.key,
    value: cookie.value,
    domain: cookie.hostOnly ? host : `.${host}`,
    path: cookie.path ?? '/',
    expires,
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
    // Chromium refuses SameSite=None without Secure, as it refuses that Set-Cookie from a server.
    sameSite: sameSite === 'strict' ? 'Strict' : sameSite === 'none' && cookie.secure ? 'None' : 'Lax',
  };
}

/** As a Set-Cookie line from the page's own host: a host-only cookie stays host-only. */
function fromBrowser(cookie: BrowserCookie): Cookie {
  return new Cookie({
    key: cookie.name,
    value: cookie.value,
    domain: cookie.domain.startsWith('.') ? cookie.domain.slice(1) : null,
    path: cookie.path,
    expires: cookie.expires >= 0 ? new Date(cookie.expires * 1000) : 'Infinity',
    httpOnly: cookie.httpOnly,
    secure: cookie.secure,
    sameSite: cookie.sameSite.toLowerCase(),
  });
}
