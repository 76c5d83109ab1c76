import { CookieJar } from 'tough-cookie';

/**
 * The cookie jar of one crawl: Set-Cookie answers are kept per domain and path and sent back on
 * later requests (and redirect hops) the way a browser would.
 */
export class CookieSession {
  private readonly jar = new CookieJar(undefined, { looseMode: true });

  /** The Cookie header for a request to `url`, or undefined when the jar has none. */
  async header(url: string): Promise<string | undefined> {
    const value = await this.jar.getCookieString(url);
    return value || undefined;
  }

  /** Stores every Set-Cookie of a response; a cookie the jar rejects (bad domain, ...) is dropped. */
  async store(url: string, setCookie: string | string[] | undefined): Promise<void> {
    if (setCookie === undefined) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      await this.jar.setCookie(line, url, { ignoreError: true });
    }
  }
}
