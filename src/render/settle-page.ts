/**
 * One page in the browser, from navigation to the HTML: load, the waits and scrolls the options
 * ask for, the screenshot, then the DOM as HTML.
 */
import type { Page } from 'playwright-core';
import { BodyTooLargeError, RenderError } from '../errors.js';
import type { RenderedPage, RenderJob } from './renderer.js';

export async function settlePage(
  page: Page,
  job: RenderJob,
  stopped: () => boolean,
): Promise<Omit<RenderedPage, 'blocked'>> {
  const { options, timeoutMs } = job;
  const response = await page.goto(job.url.href, { waitUntil: 'load', timeout: timeoutMs });
  if (!response) throw new RenderError(`${job.url.href}: no response`);
  if (options.waitFor) {
    await page.waitForSelector(options.waitFor, { state: 'attached', timeout: timeoutMs }).catch((error) => {
      if (stopped()) throw error;
      throw new RenderError(`${job.url.href}: ${options.waitFor} did not appear`, { cause: error });
    });
  }
  if (options.networkIdle) await page.waitForLoadState('networkidle', { timeout: timeoutMs });
  for (let i = 0; i < options.scroll; i++) {
    if (!(await scrollOnce(page, options.scrollWaitMs))) break;
  }
  const screenshot = options.screenshot
    ? new Uint8Array(await page.screenshot({ fullPage: true, type: 'png' }))
    : undefined;
  // Measured in the page first: a script can build a DOM far larger than any body the cap allows.
  const length = Number(
    await page.evaluate('document.documentElement ? document.documentElement.outerHTML.length : 0'),
  );
  if (length > job.maxHtmlBytes) throw new BodyTooLargeError(job.maxHtmlBytes, 'rendered');
  const html = await page.content();
  if (Buffer.byteLength(html) > job.maxHtmlBytes) throw new BodyTooLargeError(job.maxHtmlBytes, 'rendered');
  return {
    url: page.url(),
    status: response.status(),
    headers: await response.allHeaders(),
    html,
    ...(screenshot ? { screenshot } : {}),
  };
}

/** Scrolls to the bottom; true when the page grew within `waitMs` (more may follow). */
async function scrollOnce(page: Page, waitMs: number): Promise<boolean> {
  // Strings, not functions: they run in the page, whose DOM types this program does not compile against.
  const height = Number(
    await page.evaluate(
      '(() => { const h = document.documentElement.scrollHeight; window.scrollTo(0, h); return h; })()',
    ),
  );
  return page
    .waitForFunction(`document.documentElement.scrollHeight > ${height}`, undefined, {
      timeout: waitMs,
      polling: 50,
    })
    .then(
      () => true,
      () => false,
    );
}
