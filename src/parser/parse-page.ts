/**
 * One page through a spider callback outside a crawl, as the crawl's parser runs it (the link
 * rules included): for tools that show what a callback makes of a page, such as `trawl parse`
 * and `trawl shell`. Runs on the calling thread.
 */
import type { FetchedPage } from '../fetcher/fetch-page.js';
import type { Page, PageRequest, Spider } from '../spider.js';
import type { Item, RequestInit } from '../types.js';
import { PageImpl } from './page.js';
import type { ParseTask } from './protocol.js';
import { prepareSpider, runCallback } from './run-callback.js';

/** What a callback made of one page. */
export interface ParsedPage {
  items: Item[];
  /** Follow-up requests, URLs absolute. */
  requests: RequestInit[];
  /** What the callback logged through `page.log`. */
  logs: Array<{
    level: 'debug' | 'info' | 'warn' | 'error';
    message: string;
    data?: Record<string, unknown>;
  }>;
  /** Why the callback failed; what it yielded before stays in `items` and `requests`. */
  error?: { code: string; message: string; stack?: string };
}

/** Which callback runs, and the request the page answers as the callback sees it. */
export interface ParsePageOptions {
  /** @default 'parse' */
  callback?: string;
  /** @default 0 */
  depth?: number;
  userData?: Record<string, unknown>;
  referrer?: string;
}

function taskOf(page: FetchedPage, options: ParsePageOptions): ParseTask {
  const callback = options.callback ?? 'parse';
  const request: PageRequest = {
    url: page.url,
    method: 'GET',
    callback,
    depth: options.depth ?? 0,
    userData: options.userData ?? {},
    ...(options.referrer ? { referrer: options.referrer } : {}),
  };
  return {
    spiderPath: '',
    callback,
    request,
    url: page.url,
    status: page.status,
    headers: page.headers,
    encoding: page.encoding,
    body: page.body,
  };
}

/** Runs a spider's callback on a fetched page; never throws for what the callback does. */
export async function parsePage(
  spider: Spider,
  page: FetchedPage,
  options: ParsePageOptions = {},
): Promise<ParsedPage> {
  const outcome = await runCallback(prepareSpider(spider), taskOf(page, options));
  return {
    items: outcome.items,
    requests: outcome.requests,
    logs: outcome.logs,
    ...(outcome.error ? { error: outcome.error } : {}),
  };
}

/** The `Page` a callback would receive for a fetched page: `$`, `follow`, `json()`, ... */
export function pageOf(page: FetchedPage, options: ParsePageOptions = {}): Page {
  return new PageImpl(taskOf(page, options), []);
}
