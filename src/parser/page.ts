import type { CheerioAPI } from 'cheerio';
import type { AnyNode, Element } from 'domhandler';
import { InvalidUrlError } from '../errors.js';
import {
  type FollowOptions,
  type FollowRequest,
  type HrefElement,
  type LinkSource,
  type Page,
  type PageLog,
  type PageRequest,
  request,
} from '../spider.js';
import { decodeBody } from './decode.js';
import { isXmlType, loadMarkup, MAX_OPEN_ELEMENTS } from './html.js';
import { baseUrl, resolveLink } from './links.js';
import type { LogLine, ParseTask } from './protocol.js';

/** Log lines kept per page; a callback logging in a loop must not bloat the reply. */
const MAX_LOG_LINES = 1000;

/** What `a[href], area[href]` selects. */
const isLinkElement = (el: Element) =>
  (el.name === 'a' || el.name === 'area') && el.attribs.href !== undefined;
const isBaseElement = (el: Element) => el.name === 'base' && el.attribs.href !== undefined;

/** The `Page` a callback receives. Text, JSON and the cheerio document are built on first use. */
export class PageImpl implements Page {
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly contentType: string;
  readonly encoding: string;
  readonly body: Uint8Array;
  readonly request: PageRequest;
  readonly log: PageLog;
  private decoded: string | undefined;
  private document: CheerioAPI | undefined;
  private releaseDocument: (() => void) | undefined;
  private parsedJson: { value: unknown } | undefined;
  private base: string | undefined;

  constructor(task: ParseTask, logs: LogLine[]) {
    this.url = task.url;
    this.status = task.status;
    this.headers = task.headers;
    this.contentType = (task.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    this.body = task.body;
    this.request = task.request;
    this.encoding = task.encoding;
    let dropped = 0;
    const summary: LogLine = { level: 'warn', message: '' };
    const push = (level: LogLine['level']) => (message: string, data?: Record<string, unknown>) => {
      if (logs.length < MAX_LOG_LINES) {
        logs.push(
          data === undefined
            ? { level, message: String(message) }
            : { level, message: String(message), data },
        );
        return;
      }
      if (dropped++ === 0) logs.push(summary);
      summary.message = `${dropped} more log lines from this page dropped (limit ${MAX_LOG_LINES})`;
    };
    this.log = {
      debug: push('debug'),
      info: push('info'),
      warn: push('warn'),
      error: push('error'),
    };
  }

  get text(): string {
    this.decoded ??= decodeBody(this.body, this.encoding);
    return this.decoded;
  }

  get $(): CheerioAPI {
    if (!this.document) {
      const { $, truncatedAt, release } = loadMarkup(this.text, isXmlType(this.contentType));
      this.releaseDocument = release;
      if (truncatedAt !== undefined)
        this.log.warn(
          `document nests deeper than ${MAX_OPEN_ELEMENTS} open elements; parsed its first ${truncatedAt} characters`,
        );
      this.document = $;
    }
    return this.document;
  }

  /**
   * Hands the document back once the callback and the link rules are done with it: it is emptied,
   * so the page's tree dies young, and its `$` serves the thread's next page (see loadMarkup).
   * `page.$` read after this parses the page again.
   */
  release(): void {
    this.releaseDocument?.();
    this.releaseDocument = undefined;
    this.document = undefined;
  }

  json<T = unknown>(): T {
    if (!this.parsedJson) {
      try {
        this.parsedJson = { value: JSON.parse(this.text) };
      } catch (error) {
        const type = this.contentType || 'no content type';
        throw new SyntaxError(
          `page.json(): body of ${this.url} (${type}) is not JSON: ${(error as Error).message}`,
        );
      }
    }
    return this.parsedJson.value as T;
  }

  urljoin(href: string): string {
    try {
      return new URL(String(href).trim(), this.baseUrl()).href;
    } catch {
      throw new InvalidUrlError(String(href), `cannot be resolved against ${this.baseUrl()}`);
    }
  }

  follow(
    href: string | HrefElement,
    callbackOrOptions?: string | (FollowOptions & { callback?: string }),
    options?: FollowOptions,
  ): FollowRequest {
    const raw = hrefOf(href);
    if (raw === undefined)
      throw new InvalidUrlError(
        typeof href === 'object' && href !== null ? '<element without href>' : String(href),
        `page.follow() on ${this.url} needs an href or an element with one` +
          (href === undefined || href === null ? ' (did the selector match nothing?)' : ''),
      );
    const url = resolveLink(raw, this.baseUrl());
    if (!url)
      throw new InvalidUrlError(
        raw,
        `page.follow() on ${this.url} can only follow http(s) links to other pages`,
      );
    return request(Object.assign(followInit(callbackOrOptions, options), { url }));
  }

  followAll(
    links?: LinkSource,
    callbackOrOptions?: string | (FollowOptions & { callback?: string }),
    options?: FollowOptions,
  ): FollowRequest[] {
    const init = followInit(callbackOrOptions, options);
    const urls =
      links === undefined || typeof links === 'string' ? this.links(links) : this.resolveAll(links);
    return urls.map((url) => request(Object.assign({}, init, { url })));
  }

  links(selector?: string): string[] {
    if (!this.isMarkup()) return [];
    const $ = this.$;
    const hrefs: string[] = [];
    if (selector === undefined) {
      for (const el of elementsUnder(this.topNodes(), isLinkElement)) hrefs.push(el.attribs.href!);
    } else {
      for (const el of $(selector)) {
        const own = hrefOf(el);
        if (own !== undefined) hrefs.push(own);
        else if ('children' in el)
          for (const inner of elementsUnder(el.children, isLinkElement)) hrefs.push(inner.attribs.href!);
      }
    }
    return this.resolveAll(hrefs);
  }

  private resolveAll(hrefs: Iterable<string | HrefElement>): string[] {
    const base = this.baseUrl();
    const out = new Set<string>();
    for (const href of hrefs) {
      const url = resolveLink(hrefOf(href), base);
      if (url) out.add(url);
    }
    return [...out];
  }

  private isMarkup(): boolean {
    return this.contentType === '' || /html|xml/.test(this.contentType);
  }

  /** The document's top-level nodes, for tree walks. */
  private topNodes(): AnyNode[] {
    return this.$.root()[0]!.children;
  }

  private baseUrl(): string {
    this.base ??= this.isMarkup()
      ? baseUrl(this.url, elementsUnder(this.topNodes(), isBaseElement, true)[0]?.attribs.href)
      : this.url;
    return this.base;
  }
}

/**
 * Elements among `nodes` and their descendants that pass `test`, in document order; only the first
 * when `firstOnly`. A plain walk, because a selector query re-parses and compiles its selector on
 * every call (once per element in `links(selector)`) and cannot stop at the first match.
 */
function elementsUnder(
  nodes: readonly AnyNode[],
  test: (el: Element) => boolean,
  firstOnly = false,
  found: Element[] = [],
): Element[] {
  // Recursion is bounded: the parser caps the tree's depth (MAX_TREE_DEPTH in html.ts).
  for (const node of nodes) {
    if (node.type !== 'tag' && node.type !== 'script' && node.type !== 'style') continue;
    if (test(node)) {
      found.push(node);
      if (firstOnly) return found;
    }
    if (node.children.length > 0) {
      elementsUnder(node.children, test, firstOnly, found);
      if (firstOnly && found.length > 0) return found;
    }
  }
  return found;
}

function hrefOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const href = (value as Partial<HrefElement>).attribs?.href;
    if (typeof href === 'string') return href;
  }
  return undefined;
}

/** Accepts both `(href, 'callback', options)` and `(href, { callback, ...options })`. */
function followInit(
  callbackOrOptions: string | (FollowOptions & { callback?: string }) | undefined,
  options: FollowOptions | undefined,
): FollowOptions & { callback?: string } {
  // Object.assign rather than spreads: see request().
  if (typeof callbackOrOptions === 'string')
    return Object.assign({}, options, { callback: callbackOrOptions });
  return Object.assign({}, callbackOrOptions, options);
}
