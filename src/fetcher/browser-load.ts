import { TimeoutError } from '../errors.js';
import type {
  BrowserCookieJar,
  DocumentAnswer,
  PageRenderer,
  RenderedPage,
  ResolvedRender,
} from '../render/renderer.js';
import type { AddressGuard } from './address-guard.js';
import type { HostLimits } from './host-limits.js';
import { answerStartedAt } from './rendered-response.js';

/** What a page loaded in the browser shares with the fetcher that admitted it. */
export interface BrowserLoadContext {
  renderer: PageRenderer;
  guard: AddressGuard;
  hostLimits: HostLimits | undefined;
  /** The crawl's cookie jar as the browser takes it; undefined when the crawl keeps no cookies. */
  cookies: BrowserCookieJar | undefined;
  totalMs: number;
  maxBodyBytes: number;
  /** Feeds the adaptive throttle (see Fetcher.observe). */
  observe(origin: string, outcome: number | 'timeout' | 'error', startedMs: number): void;
}

/**
 * One page loaded in the browser on a turn already taken: the host limits count its start from
 * the moment its answer began (or it failed after going out), and the host is judged by that
 * answer's status and time to first byte, not by the browser's work after it.
 */
export async function loadInBrowser(
  context: BrowserLoadContext,
  target: URL,
  headers: Record<string, string> | undefined,
  render: ResolvedRender,
  signal: AbortSignal | undefined,
): Promise<RenderedPage> {
  const { origin } = target;
  let sent = false;
  const sentAt = performance.now();
  let answered: DocumentAnswer | undefined;
  const judge = (unanswered: number | 'timeout' | 'error') =>
    context.observe(origin, answered?.status ?? unanswered, answerStartedAt(answered, sentAt));
  let page: RenderedPage;
  try {
    page = await context.renderer.render({
      url: target,
      headers,
      options: render,
      timeoutMs: context.totalMs,
      maxHtmlBytes: context.maxBodyBytes,
      signal,
      permit: (url) => context.guard.resolvesAllowed(url),
      cookies: context.cookies,
      onSent: (answer) => {
        answered = answer ?? answered;
        if (sent) return;
        sent = true;
        context.hostLimits?.sent(origin);
      },
    });
  } catch (error) {
    if (!sent) context.hostLimits?.unsent(origin);
    else judge(error instanceof TimeoutError ? 'timeout' : 'error');
    throw error;
  }
  judge(page.status);
  return page;
}
