/**
 * Renders pages in one headless Chromium through playwright-core, with a bounded pool of browser
 * contexts, each replaced after a number of pages. playwright-core is imported, and Chromium
 * started, on the first render only: a crawl that never renders loads neither.
 */
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { BrowserUnavailableError, RenderError, TimeoutError, TrawlError } from '../errors.js';
import type { BrowserOptions } from '../options.js';
import { findChromium } from './find-chromium.js';
import type { BrowserCookie, PageRenderer, RenderedPage, RenderJob } from './renderer.js';
import { settlePage } from './settle-page.js';

/** What the one render in progress on a slot's tab counts and is told. */
interface Visit {
  job: RenderJob;
  /** Sub-requests refused. */
  blocked: number;
  /** The page's own request passed the route, so it may have reached the server. */
  documentPassed: boolean;
  crashed(error: RenderError): void;
}

/**
 * One rendering slot: a context and the one tab in it that loads page after page. Opening a tab
 * costs more than the load of a small page, so a tab is kept until its context is replaced or a
 * render fails on it (what a failed page left behind is not trusted).
 */
interface Slot {
  context: BrowserContext | undefined;
  tab: Page | undefined;
  /** The tab sends request headers of its own (set by the last render that had any). */
  tabHeaders: boolean;
  visit: Visit | undefined;
  pages: number;
}

export interface BrowserPoolOptions extends BrowserOptions {
  userAgent: string;
  /** Headers every page sends. */
  headers: Record<string, string>;
}

export class BrowserPool implements PageRenderer {
  private browser: Promise<Browser> | undefined;
  private readonly free: Slot[] = [];
  private readonly waiting: Array<(slot: Slot) => void> = [];
  private closed = false;

  constructor(private readonly options: BrowserPoolOptions) {
    for (let i = 0; i < (options.contexts ?? 2); i++)
      this.free.push({ context: undefined, tab: undefined, tabHeaders: false, visit: undefined, pages: 0 });
  }

  async render(job: RenderJob): Promise<RenderedPage> {
    const slot = await this.acquire(job.signal);
    let page: Page | undefined;
    let failed = false;
    const deadline = AbortSignal.timeout(job.timeoutMs);
    const stop = job.signal ? AbortSignal.any([job.signal, deadline]) : deadline;
    const onStop = () => void page?.close().catch(() => undefined);
    stop.addEventListener('abort', onStop, { once: true });
    const crashed = new Promise<never>((_, reject) => {
      slot.visit = { job, blocked: 0, documentPassed: false, crashed: reject };
    });
    crashed.catch(() => undefined);
    const visit = slot.visit!;
    try {
      page = await this.tabOf(slot);
      const { context } = slot;
      if (job.cookies) await giveCookies(context!, await job.cookies.get(job.url.href));
      if (job.headers || slot.tabHeaders) await page.setExtraHTTPHeaders(job.headers ?? {});
      slot.tabHeaders = job.headers !== undefined;
      const result = await Promise.race([settlePage(page, job, () => stop.aborted), crashed]);
      if (job.cookies) await job.cookies.put(result.url, await context!.cookies(result.url));
      return { ...result, blocked: visit.blocked };
    } catch (error) {
      failed = true;
      // The page's request went out and may have reached the server: count it as a start.
      if (visit.documentPassed) job.onSent();
      if (deadline.aborted) throw new TimeoutError('total', job.timeoutMs, { cause: error }, job.url.host);
      if (job.signal?.aborted) throw error;
      // Ours already say what failed (a missing selector, no browser, a DOM over the body cap).
      if (error instanceof TrawlError) throw error;
      throw new RenderError(`${job.url.href}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
    } finally {
      stop.removeEventListener('abort', onStop);
      slot.visit = undefined;
      if (failed || stop.aborted) {
        slot.tab = undefined;
        await page?.close().catch(() => undefined);
      }
      this.release(slot);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const browser = this.browser;
    this.browser = undefined;
    if (browser) await browser.then((b) => b.close()).catch(() => undefined);
  }

  /**
   * Every request of a slot's tab: blocked resource types and other hosts are refused, the rest
   * pass the network guard; between renders nothing goes out.
   */
  private async filter(route: Route, slot: Slot): Promise<void> {
    const visit = slot.visit;
    const request = route.request();
    let url: URL;
    try {
      url = new URL(request.url());
    } catch {
      return route.abort('blockedbyclient').catch(() => undefined);
    }
    if (!visit) return route.abort('blockedbyclient').catch(() => undefined);
    const { job } = visit;
    const { allowHosts, blockResources } = job.options;
    const ownHost = url.hostname === job.url.hostname;
    const refused =
      blockResources.has(request.resourceType()) ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      (!ownHost && allowHosts !== '*' && !allowHosts.has(url.hostname)) ||
      // The page's own address was checked before it loaded.
      (!ownHost && !(await job.permit(url).catch(() => false)));
    if (refused) {
      visit.blocked++;
      return route.abort('blockedbyclient').catch(() => undefined);
    }
    if (request.isNavigationRequest() && request.frame().parentFrame() === null) visit.documentPassed = true;
    return route.fallback().catch(() => undefined);
  }

  /** The slot's tab, opened (with its route and listeners) when it has none. */
  private async tabOf(slot: Slot): Promise<Page> {
    const context = await this.contextOf(slot);
    if (slot.tab && !slot.tab.isClosed()) return slot.tab;
    const tab = await context.newPage();
    slot.tab = tab;
    slot.tabHeaders = false;
    tab.once('crash', () =>
      slot.visit?.crashed(new RenderError(`the renderer crashed on ${slot.visit.job.url.href}`)),
    );
    // The gap is kept from the page's answer, not from when Chromium was told to send: that is
    // the first moment the request has certainly reached the server (a new context's first
    // request waits for its own connection), so the server never sees two loads closer.
    const main = tab.mainFrame();
    tab.on('response', (response) => {
      const request = response.request();
      if (!slot.visit || !request.isNavigationRequest() || request.frame() !== main) return;
      const { responseStart } = request.timing();
      slot.visit.job.onSent({
        status: response.status(),
        latencyMs: responseStart >= 0 ? responseStart : undefined,
      });
    });
    await tab.route('**/*', (route) => this.filter(route, slot));
    return tab;
  }

  private async acquire(signal: AbortSignal | undefined): Promise<Slot> {
    signal?.throwIfAborted();
    const slot = this.free.pop();
    if (slot) return slot;
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = () => {
        const at = this.waiting.indexOf(take);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal!.reason);
      };
      const take = (s: Slot) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(s);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(take);
    });
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }

  /** The slot's context, replaced by a fresh one once it has rendered `pagesPerContext` pages. */
  private async contextOf(slot: Slot): Promise<BrowserContext> {
    if (slot.context && slot.pages >= (this.options.pagesPerContext ?? 50)) {
      const old = slot.context;
      slot.context = undefined;
      slot.tab = undefined;
      await old.close().catch(() => undefined);
    }
    if (!slot.context || !slot.context.browser()?.isConnected()) {
      const browser = await this.launch();
      slot.tab = undefined;
      slot.context = await browser.newContext({
        userAgent: this.options.userAgent,
        extraHTTPHeaders: this.options.headers,
        serviceWorkers: 'block',
      });
      slot.pages = 0;
    }
    slot.pages++;
    return slot.context;
  }

  private launch(): Promise<Browser> {
    if (this.closed) return Promise.reject(new RenderError('the browser pool is closed'));
    const current = this.browser;
    if (current) {
      return current.then((b) => {
        if (b.isConnected()) return b;
        // Chromium died: the next render starts a new one.
        if (this.browser === current) this.browser = undefined;
        return this.launch();
      });
    }
    const started = startChromium(this.options);
    this.browser = started;
    started.catch(() => {
      if (this.browser === started) this.browser = undefined;
    });
    return started;
  }
}

/** The crawl's cookies into the context; one Chromium refuses does not keep the others out. */
async function giveCookies(context: BrowserContext, cookies: BrowserCookie[]): Promise<void> {
  if (cookies.length === 0) return;
  await context
    .addCookies(cookies)
    .catch(() => Promise.all(cookies.map((cookie) => context.addCookies([cookie]).catch(() => undefined))));
}

async function startChromium(options: BrowserOptions): Promise<Browser> {
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (error) {
    throw new BrowserUnavailableError(
      'rendering needs the optional package playwright-core: npm install playwright-core',
      { cause: error },
    );
  }
  const executablePath = findChromium(options.executablePath);
  if (!executablePath)
    throw new BrowserUnavailableError(
      'no Chromium found: set browser.executablePath or TRAWL_CHROMIUM_PATH, or put chromium on PATH',
    );
  try {
    return await chromium.launch({
      executablePath,
      headless: true,
      timeout: options.launchTimeoutMs ?? 30_000,
      // Containers often run as root, where Chromium's sandbox cannot start.
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
  } catch (error) {
    throw new BrowserUnavailableError(
      `Chromium at ${executablePath} did not start: ${(error as Error).message.split('\n')[0]}`,
      { cause: error },
    );
  }
}
