import type { CheerioAPI } from 'cheerio';
import type { AnyNode, Element } from 'domhandler';
import { InvalidUrlError } from '../errors.js';
import { checkRequestKeys } from '../request-init.js';
import {
  type FollowOptions,
  type FollowRequest,
  type FormTarget,
  type HrefElement,
  type LinkSource,
  type LinkValue,
  followRequest,
  type Page,
  type PageLog,
  type PageRequest,
  type SubmitFormOptions,
} from '../spider.js';
import { decodeBody } from '../decode.js';
import { formOf, formSubmission } from './forms.js';
import { isXmlType, loadMarkup, MAX_OPEN_ELEMENTS } from './html.js';
import { baseUrl, classifyLink, isLinkDrop, type LinkDrops, noDrops, resolveLink } from './links.js';
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
  readonly screenshot: Uint8Array | undefined;
  readonly request: PageRequest;
  readonly log: PageLog;
  private decoded: string | undefined;
  private document: CheerioAPI | undefined;
  private releaseDocument: (() => void) | undefined;
  private parsedJson: { value: unknown } | undefined;
  private base: string | undefined;
  private readonly drops: LinkDrops = noDrops();

  constructor(task: ParseTask, logs: LogLine[]) {
    this.url = task.url;
    this.status = task.status;
    this.headers = task.headers;
    this.contentType = (task.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    this.body = task.body;
    this.screenshot = task.screenshot;
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
    href: LinkValue,
    callbackOrOptions?: string | (FollowOptions & { callback?: string }),
    options?: FollowOptions,
  ): FollowRequest | undefined {
    const url = this.resolveCounted(href, 'page.follow()');
    if (url === undefined) return undefined;
    return followRequest(Object.assign(followInit(callbackOrOptions, options), { url }), 'follow');
  }

  followAll(
    links?: LinkSource,
    callbackOrOptions?: string | (FollowOptions & { callback?: string }),
    options?: FollowOptions,
  ): FollowRequest[] {
    const init = followInit(callbackOrOptions, options);
    // Checked once here too, so a typo fails the page even when no link matched.
    checkRequestKeys(init, 'followAll');
    const urls = new Set<string>();
    if (links === undefined || typeof links === 'string') {
      for (const href of this.hrefs(links)) {
        const url = this.resolveCounted(href, 'page.followAll()');
        if (url !== undefined) urls.add(url);
      }
    } else {
      if (typeof links !== 'object' || links === null || !(Symbol.iterator in links))
        throw new InvalidUrlError(
          String(links),
          `page.followAll() on ${this.url} takes a CSS selector, or hrefs and elements`,
        );
      for (const href of links) {
        const url = this.resolveCounted(href, 'page.followAll()');
        if (url !== undefined) urls.add(url);
      }
    }
    return [...urls].map((url) => followRequest(Object.assign({}, init, { url }), 'followAll'));
  }

  submitForm(formOrOptions?: FormTarget | SubmitFormOptions, options: SubmitFormOptions = {}): FollowRequest {
    const { target, opts } = isFormTarget(formOrOptions)
      ? { target: formOrOptions, opts: options }
      : { target: undefined, opts: formOrOptions ?? options };
    const { formdata, clickdata, method, headers, ...rest } = opts;
    const form = this.findForm(target);
    const submission = formSubmission(this.$, form, this.url, this.baseUrl(), {
      formdata,
      clickdata,
      method,
    });
    // The user's headers win over the content type the form's encoding implies.
    if (headers) submission.headers = Object.assign({}, submission.headers, headers);
    return followRequest(Object.assign(rest, submission), 'submitForm');
  }

  /** The form a `submitForm` target designates, or a clear error. */
  private findForm(target: FormTarget | undefined): Element {
    const where = `page.submitForm() on ${this.url}`;
    if (!this.isMarkup()) throw new Error(`${where}: the page is ${this.contentType}, not HTML`);
    let element: unknown;
    if (target === undefined) element = this.$('form')[0];
    else if (typeof target === 'string') element = this.$(target)[0];
    else if ('attribs' in target) element = target;
    else element = (target as ArrayLike<unknown>)[0];
    if (element === undefined)
      throw new Error(
        target === undefined
          ? `${where}: no <form> on the page`
          : typeof target === 'string'
            ? `${where}: no element matches ${JSON.stringify(target)}`
            : `${where}: the selection given is empty`,
      );
    const form = isElementNode(element) ? formOf(element) : undefined;
    if (!form) throw new Error(`${where}: the element given is not a form nor inside one`);
    return form;
  }

  /** Links this page's follow() and followAll() calls dropped, by reason. */
  get droppedLinks(): Readonly<LinkDrops> {
    return this.drops;
  }

  links(selector?: string): string[] {
    const base = this.baseUrl();
    const out = new Set<string>();
    for (const href of this.hrefs(selector)) {
      const url = resolveLink(href, base);
      if (url) out.add(url);
    }
    return [...out];
  }

  /** The raw hrefs of `a[href]`/`area[href]`, or of (and within) what a selector matches. */
  private hrefs(selector: string | undefined): string[] {
    if (!this.isMarkup()) return [];
    const hrefs: string[] = [];
    if (selector === undefined) {
      for (const el of elementsUnder(this.topNodes(), isLinkElement)) hrefs.push(el.attribs.href!);
    } else {
      for (const el of this.$(selector)) {
        const own = 'attribs' in el ? el.attribs.href : undefined;
        if (own !== undefined) hrefs.push(own);
        else if ('children' in el)
          for (const inner of elementsUnder(el.children, isLinkElement)) hrefs.push(inner.attribs.href!);
      }
    }
    return hrefs;
  }

  /**
   * The URL a link given to follow()/followAll() leads to, or undefined (counted by reason) when it
   * leads to no other page. Only a value that cannot be a link at all is a programmer error.
   */
  private resolveCounted(value: unknown, caller: string): string | undefined {
    const href = hrefOf(value);
    if (href === NOT_A_LINK)
      throw new InvalidUrlError(
        describeValue(value),
        `${caller} on ${this.url} takes an href string or an element` +
          (value === undefined || value === null ? ' (did the selector match nothing?)' : ''),
      );
    if (href === undefined) {
      this.drops.empty++;
      return undefined;
    }
    const result = classifyLink(href, this.baseUrl());
    if (isLinkDrop(result)) {
      this.drops[result]++;
      return undefined;
    }
    return result;
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

const NOT_A_LINK: unique symbol = Symbol('not a link');

/**
 * The href of a link given as a string, a URL, an element or a cheerio selection (its first
 * element); undefined for an element without one; NOT_A_LINK for anything else.
 */
function hrefOf(value: unknown): string | undefined | typeof NOT_A_LINK {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return NOT_A_LINK;
  if (value instanceof URL) return value.href;
  const attribs = (value as Partial<HrefElement>).attribs;
  if (typeof attribs === 'object' && attribs !== null)
    return typeof attribs.href === 'string' ? attribs.href : undefined;
  // A cheerio selection: its first element, as `.attr('href')` reads it.
  if ('cheerio' in value && typeof (value as { length?: unknown }).length === 'number') {
    const first = (value as unknown as ArrayLike<unknown>)[0];
    return first === undefined ? undefined : hrefOf(first);
  }
  // Any other DOM node (text, comment) is an element-like value without an href.
  if (typeof (value as { type?: unknown }).type === 'string' && 'parent' in value) return undefined;
  return NOT_A_LINK;
}

/** A form target (selector, element, selection) rather than an options object. */
function isFormTarget(value: unknown): value is FormTarget {
  if (typeof value === 'string') return true;
  if (typeof value !== 'object' || value === null) return false;
  return 'attribs' in value || 'cheerio' in value || isElementNode(value);
}

function isElementNode(value: unknown): value is Element {
  const node = value as Partial<Element> | null;
  return (
    typeof node === 'object' &&
    node !== null &&
    (node.type === 'tag' || node.type === 'script' || node.type === 'style') &&
    typeof node.attribs === 'object'
  );
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return `<${value.constructor?.name ?? 'object'}>`;
  return `${typeof value} ${String(value).slice(0, 40)}`;
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
