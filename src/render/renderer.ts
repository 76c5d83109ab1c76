/**
 * What the fetcher asks of a renderer, as plain shapes: the fetcher keeps robots.txt, the network
 * guard and the host turn; the renderer only drives the browser. Nothing here loads a browser.
 */
import type { RenderOptions, ResourceType } from '../types.js';

const DEFAULT_BLOCKED: readonly ResourceType[] = ['image', 'font', 'media'];
const DEFAULT_SCROLL_WAIT_MS = 2000;

/** Render options with every default filled in. */
export interface ResolvedRender {
  waitFor: string | undefined;
  networkIdle: boolean;
  scroll: number;
  scrollWaitMs: number;
  screenshot: boolean;
  allowHosts: ReadonlySet<string> | '*';
  blockResources: ReadonlySet<string>;
}

export interface RenderJob {
  url: URL;
  /** The request's own headers (user agent and crawl headers are the context's). */
  headers: Record<string, string> | undefined;
  options: ResolvedRender;
  /** The whole render, load, waits and scrolls included. */
  timeoutMs: number;
  /** The body cap: a DOM whose HTML is larger fails the page instead of reaching this process. */
  maxHtmlBytes: number;
  signal: AbortSignal | undefined;
  /** Whether a sub-request to this URL may go out (network guard); false aborts it. */
  permit(url: URL): Promise<boolean>;
  /**
   * The page's own request has reached the server (its answer began, or it failed after going
   * out); the host limits count its start from here. Called at least once when it went out, with
   * the answer when one came: its status and the server's time to first byte, which is what the
   * adaptive throttle should judge the host by, not how long the browser then took.
   */
  onSent(answer?: DocumentAnswer): void;
  /** The crawl's cookie jar, shared with the browser; undefined when the crawl keeps no cookies. */
  cookies: BrowserCookieJar | undefined;
}

/** A cookie as a browser context takes and gives it (Playwright's shape). */
export interface BrowserCookie {
  name: string;
  value: string;
  /** A leading dot: sent to subdomains too; none: to this host only. */
  domain: string;
  path: string;
  /** Seconds since the epoch; -1 for a session cookie. */
  expires: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Strict' | 'Lax' | 'None';
}

/** The crawl's cookies for one page, read before it loads and written back after. */
export interface BrowserCookieJar {
  /** The cookies a request to `url` would send. */
  get(url: string): Promise<BrowserCookie[]>;
  /** Keeps what the browser holds for `url` (set by the page's answers or its scripts). */
  put(url: string, cookies: readonly BrowserCookie[]): Promise<void>;
}

/** The answer to a page's own request (each hop of a redirect is one). */
export interface DocumentAnswer {
  status: number;
  /** From the request going out to the first byte of the answer, as the browser timed it. */
  latencyMs: number | undefined;
}

export interface RenderedPage {
  /** The URL the page ended on, after redirects. */
  url: string;
  status: number;
  headers: Record<string, string>;
  html: string;
  screenshot?: Uint8Array;
  /** Sub-requests refused by host or resource type. */
  blocked: number;
}

export interface PageRenderer {
  render(job: RenderJob): Promise<RenderedPage>;
  close(): Promise<void>;
}

/**
 * Which render options apply to a request: its own `render` wins (`false` turns rendering off,
 * `true` takes the crawl's options), else the crawl's setting; undefined: fetch plainly.
 */
export function renderFor(
  own: boolean | RenderOptions | undefined,
  crawl: boolean | RenderOptions,
): ResolvedRender | undefined {
  const choice = own ?? crawl;
  if (choice === false) return undefined;
  const base = typeof crawl === 'object' ? crawl : {};
  return resolveRender(choice === true ? base : { ...base, ...choice });
}

function resolveRender(options: RenderOptions): ResolvedRender {
  return {
    waitFor: options.waitFor,
    networkIdle: options.networkIdle ?? false,
    scroll: options.scroll ?? 0,
    scrollWaitMs: options.scrollWaitMs ?? DEFAULT_SCROLL_WAIT_MS,
    screenshot: options.screenshot ?? false,
    allowHosts: options.allowHosts === '*' ? '*' : new Set(options.allowHosts ?? []),
    blockResources: new Set(options.blockResources ?? DEFAULT_BLOCKED),
  };
}
