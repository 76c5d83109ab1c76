import type { DocumentAnswer, RenderedPage } from '../render/renderer.js';
import type { FetchedResponse } from '../types.js';
import { withoutHeaders } from './redirects.js';

/** Headers that describe the bytes on the wire, which a rendered body is not. */
const WIRE_HEADERS = ['content-encoding', 'content-length', 'content-type', 'transfer-encoding'];

/** A rendered page as the parser takes any page: the DOM serialised as UTF-8 HTML. */
export function renderedResponse(page: RenderedPage, startedMs: number): FetchedResponse {
  const body = new TextEncoder().encode(page.html);
  return {
    url: page.url,
    status: page.status,
    headers: { ...withoutHeaders(page.headers, WIRE_HEADERS), 'content-type': 'text/html; charset=utf-8' },
    body,
    encoding: 'utf-8',
    redirects: [],
    attempts: 1,
    wireBytes: body.byteLength,
    elapsedMs: performance.now() - startedMs,
    ...(page.screenshot ? { screenshot: page.screenshot } : {}),
  };
}

/**
 * When the answer a rendered page's host is judged by began: the last answer to the page's own
 * request, back-dated by its time to first byte, so the browser's work after it is not counted.
 */
export function answerStartedAt(answer: DocumentAnswer | undefined, sentAt: number): number {
  return answer?.latencyMs === undefined ? sentAt : performance.now() - answer.latencyMs;
}
