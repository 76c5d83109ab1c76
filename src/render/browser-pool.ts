/**
 * Renders pages in one headless Chromium through playwright-core, with a bounded pool of browser
 * contexts, each replaced after a number of pages. playwright-core is imported, and Chromium
 * started, on the first render only: a crawl that never renders loads neither.
 */
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { BrowserUnavailableError, RenderError, TimeoutError } from '../errors.js';
import type { BrowserOptions } from '../options.js';
import { findChromium } from './find-chromium.js';
import type { PageRenderer, RenderedPage, RenderJob } from './renderer.js';
import { settlePage } from './settle-page.js';

interface Slot {
  context: BrowserContext | undefined;
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
    for (let i = 0; i < (options.contexts ?? 2); i++) this.free.push({ context: undefined, pages: 0 });
  }

  async render(job: RenderJob): Promise<RenderedPage> {
    const slot = await this.acquire(job.signal);
    let page: Page | undefined;
    const passed = { document: false };
    const deadline = AbortSignal.timeout(job.timeoutMs);
    const stop = job.signal ? AbortSignal.any([job.signal, deadline]) : deadline;
    const onStop = () => void page?.close().catch(() => undefined);
    stop.addEventListener('abort', onStop, { once: true });
    try {
      const context = await this.contextOf(slot);
      page = await context.newPage();
      const crashed = new Promise<never>((_, reject) => {
        page!.once('crash', () => reject(new RenderError(`the renderer crashed on ${job.url.href}`)));
      });
      crashed.catch(() => undefined);
      const blocked = { count: 0 };
      // The gap is kept from the page's answer, not from when Chromium was told to send: that is
      // the first moment the request has certainly reached the server (a new context's first
      // request waits for its own connection), so the server never sees two loads closer.
      const main = page.mainFrame();
      page.on('response', (response) => {
        const request = response.request();
        if (!request.isNavigationRequest() || request.frame() !== main) return;
        const { responseStart } = request.timing();
        job.onSent({ status: response.status(), latencyMs: responseStart >= 0 ? responseStart : undefined });
      });
      await page.route('**/*', (route) => this.filter(route, job, blocked, passed));
      const work = settlePage(page, job, () => stop.aborted);
      const result = await Promise.race([work, crashed]);
      return { ...result, blocked: blocked.count };
    } catch (error) {
      // The page's request went out and may have reached the server: count it as a start.
      if (passed.document) job.onSent();
      if (deadline.aborted) throw new TimeoutError('total', job.timeoutMs, { cause: error }, job.url.host);
      if (job.signal?.aborted) throw error;
      if (error instanceof RenderError || error instanceof BrowserUnavailableError) throw error;
      throw new RenderError(`${job.url.href}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
    } finally {
      stop.removeEventListener('abort', onStop);
      await page?.close().catch(() => undefined);
      this.release(slot);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const browser = this.browser;
    this.browser = undefined;
    if (browser) await browser.then((b) => b.close()).catch(() => undefined);
  }

  /** Sub-requests: blocked resource types and other hosts are refused, the rest pass the network guard. */
  private async filter(
    route: Route,
    job: RenderJob,
    blocked: { count: number },
    passed: { document: boolean },
  ): Promise<void> {
    const request = route.request();
    let url: URL;
    try {
      url = new URL(request.url());
    } catch {
      return route.abort('blockedbyclient');
    }
    const { allowHosts, blockResources } = job.options;
    const ownHost = url.hostname === job.url.hostname;
    const refused =
      blockResources.has(request.resourceType()) ||
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      (!ownHost && allowHosts !== '*' && !allowHosts.has(url.hostname)) ||
      // The page's own address was checked before it loaded.
      (!ownHost && !(await job.permit(url).catch(() => false)));
    if (refused) {
      blocked.count++;
      return route.abort('blockedbyclient').catch(() => undefined);
    }
    if (request.isNavigationRequest() && request.frame().parentFrame() === null) passed.document = true;
    return route.fallback().catch(() => undefined);
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
      await old.close().catch(() => undefined);
    }
    if (!slot.context || !slot.context.browser()?.isConnected()) {
      const browser = await this.launch();
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
