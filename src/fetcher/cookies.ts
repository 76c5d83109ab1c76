import { CookieJar } from 'tough-cookie';

/**
 * The cookie jar of one crawl: Set-Cookie answers are kept per domain and path and sent back on
 * later requests (and redirect hops) the way a browser would. It can be saved as JSON and
 * restored, so a resumed crawl keeps its session.
 */
export class CookieSession {
  private readonly jar: CookieJar;
  /** Domains the jar has held cookies for. */
  private readonly domains = new Set<string>();
  private readonly listeners: Array<() => void> = [];

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
    let changed = false;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const cookie = await this.jar.setCookie(line, url, { ignoreError: true });
      if (!cookie) continue;
      changed = true;
      if (cookie.domain) this.domains.add(cookie.domain.toLowerCase());
    }
    if (changed) for (const listener of this.listeners) listener();
  }

  /** Calls `listener` after every response that set (or replaced, or expired) a cookie. */
  onChange(listener: () => void): void {
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
