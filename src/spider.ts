/**
 * The spider shape. A spider is plain data plus named callbacks; `defineSpider` only adds types, so
 * a module whose default export is a plain object of this shape works the same.
 */
import type { CheerioAPI } from 'cheerio';
import type { SpiderContract } from './contracts/contract.js';
import { SpiderInvalidError } from './errors.js';
import type { CrawlSettings } from './options.js';
import type { ClickData, FormValues } from './parser/forms.js';
import { prepareRequest } from './request-init.js';
import { validateSitemapOptions } from './sitemap/sitemap-options.js';
import type { CrawlRequest, HttpMethod, Item, RequestInit, RequestOptions } from './types.js';

/** Marks a follow-up request yielded by a callback, across module copies and realms. */
export const REQUEST_BRAND: unique symbol = Symbol.for('trawl.request') as never;

/** How a followed request is sent and handled: method, headers, body, `form`, `json`, ... */
export interface FollowOptions extends RequestOptions {}

/** What `submitForm` takes besides the form: the fields to change and the button to click. */
export interface SubmitFormOptions<C extends string = string> extends Omit<
  FollowOptions,
  'body' | 'form' | 'json'
> {
  /** Callback that parses the answer. @default 'parse' */
  callback?: C;
  /**
   * Fields to set: a value (or an array of values) replaces the form's values of that name, in
   * place, or is added after the others; null removes the field. @default {}
   */
  formdata?: FormValues;
  /**
   * The submit button clicked, whose name and value are sent: a CSS selector, attributes it must
   * have (`{ name: 'action', value: 'save' }`; `nr` picks the nth match, from 0), or false to click
   * none. @default the form's first submit button
   */
  clickdata?: ClickData;
  /** Overrides the form's method (GET sends the fields as the query). @default the form's method */
  method?: HttpMethod;
}

/** A form given to `submitForm`: a CSS selector, or an element (a form, or one inside a form). */
export type FormTarget = string | HrefElement | ArrayLike<HrefElement>;

/** A request a callback yields; made with `page.follow` or `request()`. */
export interface FollowRequest extends RequestInit {
  readonly [REQUEST_BRAND]: true;
}

/** The request a page answers, as the callback sees it. */
export interface PageRequest {
  url: string;
  method: HttpMethod;
  callback: string;
  depth: number;
  userData: Record<string, unknown>;
  referrer?: string;
}

/** What the callback is told of a request the frontier accepted. */
export function pageRequestOf(request: CrawlRequest): PageRequest {
  return {
    url: request.url,
    method: request.method,
    callback: request.callback,
    depth: request.depth,
    userData: request.userData,
    ...(request.referrer ? { referrer: request.referrer } : {}),
  };
}

export interface PageLog {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** An element with an `href`, e.g. one taken from `page.$('a')`. */
export interface HrefElement {
  attribs: Record<string, string>;
}

/** What `follow` takes: an href, a URL, an element, or a cheerio selection (its first element). */
export type LinkValue = string | URL | HrefElement | ArrayLike<HrefElement>;

/** What `followAll` takes: a CSS selector, or hrefs and elements (a cheerio selection works). */
export type LinkSource = string | Iterable<string | HrefElement>;

/** What a callback receives. `C` is the union of the spider's callback names. */
export interface Page<C extends string = string> {
  /** Final URL, after redirects. */
  readonly url: string;
  readonly status: number;
  /** Response headers, lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Media type from the content-type header, lower-cased, without parameters ('' when absent). */
  readonly contentType: string;
  /** Charset the body was decoded with, as a WHATWG label. */
  readonly encoding: string;
  /** Body decoded with the detected charset, on first use. */
  readonly text: string;
  /** Raw body bytes. */
  readonly body: Uint8Array;
  /** A full-page PNG, when the request was rendered with `render: { screenshot: true }`. */
  readonly screenshot: Uint8Array | undefined;
  /**
   * Cheerio document, parsed on first use so JSON callbacks pay nothing. Parsed with htmlparser2
   * (no implied `<tbody>`), in XML mode for XML content types; see src/parser/html.ts for the
   * depth bounds.
   */
  readonly $: CheerioAPI;
  /** The request this page answers: URL, method, callback, depth, user data, referrer. */
  readonly request: PageRequest;
  /** Log lines that travel back with the page's results as crawl `log` events. */
  readonly log: PageLog;
  /** Parses the body as JSON (once; later calls return the same value). */
  json<T = unknown>(): T;
  /** `href` resolved against the page's base URL (`<base href>` or the page URL). */
  urljoin(href: string): string;
  /**
   * A request for `href` (an href string, a URL, an element or a cheerio selection's first element)
   * resolved against this page's base URL, parsed by `callback` (default: 'parse'). A link that
   * leads to no other page yields nothing: a fragment of this page (`#top`), a scheme other than
   * http(s) (`javascript:`, `mailto:`, `tel:`, `data:`, ...), an empty href or an element without
   * one, an href the URL parser rejects. Those return undefined (so `yield page.follow(href)` is
   * always safe) and are counted in `stats.dropped`. Throws only for a value that is neither a
   * string nor an element, e.g. undefined from a selector that matched nothing.
   */
  follow(href: LinkValue, callback?: C, options?: FollowOptions): FollowRequest | undefined;
  follow(href: LinkValue, options: FollowOptions & { callback?: C }): FollowRequest | undefined;
  /**
   * Requests for every link matched by a CSS selector (elements with an href, or links inside the
   * matched elements), or for each href or element given; all links on the page when called with
   * no selector. Links that lead to no other page are skipped and counted as in `follow`;
   * duplicates within the page are dropped.
   */
  followAll(links?: LinkSource, callback?: C, options?: FollowOptions): FollowRequest[];
  followAll(links: LinkSource | undefined, options: FollowOptions & { callback?: C }): FollowRequest[];
  /**
   * Absolute http(s) links on the page, in document order, deduplicated: from `a[href]` and
   * `area[href]`, or within the elements a CSS selector matches. Resolved against `<base href>`,
   * fragments removed; fragment-only, empty, unparsable and non-http(s) links (javascript:,
   * mailto:, tel:, data:, ...) skipped. Empty for non-markup pages.
   */
  links(selector?: string): string[];
  /**
   * A request that submits a form of this page as a browser would, like Scrapy's
   * `FormRequest.from_response`. `form` is a CSS selector or an element (a `<form>`, or any
   * element inside one); the first form of the page when omitted. The fields are the form's
   * successful controls by the HTML standard: enabled inputs (checkboxes and radio buttons only
   * when checked, value "on" by default; hidden fields such as CSRF tokens included; file inputs
   * send nothing), the selected options of each select (the first option of a drop-down with none
   * selected), textareas, and the clicked submit button, with `formdata` applied. The action is
   * resolved against the base URL (an empty one is this page); `method="post"` sends the fields
   * URL-encoded, or as `multipart/form-data` or `text/plain` when the form's enctype says so, any
   * other method puts them in the query. Throws when no form matches or its action is not
   * http(s).
   */
  submitForm(form?: FormTarget, options?: SubmitFormOptions<C>): FollowRequest;
  submitForm(options: SubmitFormOptions<C>): FollowRequest;
}

/**
 * A value a callback may produce: an item or a follow-up request. undefined and null are skipped,
 * so `yield page.follow(href)` needs no check.
 */
export type CallbackOutput = Item | FollowRequest | undefined | null;

export type CallbackResult =
  | AsyncIterable<CallbackOutput>
  | Iterable<CallbackOutput>
  | Promise<CallbackOutput | Iterable<CallbackOutput> | undefined | void>
  | CallbackOutput
  | undefined
  | void;

export type Callback<C extends string = string> = (page: Page<C>) => CallbackResult;

export type Pattern = string | RegExp;

/**
 * Declarative link following, like Scrapy's CrawlSpider rules and Crawlee's enqueueLinks. Rules run
 * in the worker after the callback of pages whose callback is `parse` (start pages) or the callback
 * of a rule with `follow`, even when that callback threw. Each link goes to the first rule that
 * matches it. A spider made only of rules needs no `parse`: its pages are handled by the rules.
 *
 * Patterns: a RegExp is tested against the absolute URL (unanchored). A string is a glob matched
 * against the whole URL, or against the path when it starts with `/` (plus the query when the glob
 * contains `?`). In globs `*` matches any run of characters except `/`, `**` any run at all,
 * `{a,b}` either alternative; everything else, `?` and `.` included, is literal.
 */
export interface LinkRule<C extends string = string> {
  /** URL patterns to take; all links when omitted. */
  allow?: Pattern | Pattern[];
  /** URL patterns to skip; deny wins over allow. */
  deny?: Pattern | Pattern[];
  /** CSS scope to take links from (elements with an href, or links inside them). @default the whole page */
  selector?: string;
  /** Callback for matched pages. @default 'parse' */
  callback?: C;
  /**
   * Apply the rules again on the matched pages (`parse` pages always get them).
   * @default true when no callback is given, else false
   */
  follow?: boolean;
  /** User data for the requests this rule makes. */
  userData?: Record<string, unknown>;
  /** Priority for the requests this rule makes. @default 0 */
  priority?: number;
}

export type StartEntry = string | RequestInit;

/**
 * Sends the URLs of a sitemap that match to a callback, like Scrapy's `sitemap_rules`. Patterns
 * are those of link rules (globs or RegExps); each URL goes to the first rule that takes it, and a
 * URL no rule takes is skipped.
 */
export interface SitemapRule<C extends string = string> {
  /** URL patterns to take; all URLs when omitted. */
  allow?: Pattern | Pattern[];
  /** URL patterns to skip; deny wins over allow. */
  deny?: Pattern | Pattern[];
  /** Callback for the pages taken. @default 'parse' */
  callback?: C;
}

/**
 * Sitemap crawling (see src/sitemap/). A spider with `sitemapUrls` or `sitemapFromRobots` starts
 * from sitemaps: its start entries (`sitemapUrls`, else `startUrls`/`start()`, or `--start`) are
 * read as sitemaps, a `/robots.txt` URL for its `Sitemap:` lines; with `sitemapFromRobots`, a page
 * URL that does not look like a sitemap stands for its host's robots.txt. Sitemap indexes are
 * followed, gzipped files decompressed (capped by `maxBodyBytes`), and every URL goes through the
 * frontier like a followed link (dedupe, allowed hosts, robots.txt, depth).
 */
export interface SitemapOptions<C extends string = string> {
  /** Sitemap, sitemap index or robots.txt URLs to start from. */
  sitemapUrls?: string[];
  /** Read the `Sitemap:` lines of the robots.txt of each start URL's host. @default false */
  sitemapFromRobots?: boolean;
  /** Where the sitemap's URLs go. @default every URL to `parse` */
  sitemapRules?: SitemapRule<C>[];
  /** Patterns of the sitemaps an index lists that are followed. @default all */
  sitemapFollow?: Pattern | Pattern[];
  /**
   * Only URLs (and child sitemaps) whose `lastmod` is at or after this time; entries without a
   * `lastmod` are kept. A Date or a date string (`'2024-06-01'`).
   */
  sitemapSince?: Date | string;
  /** Also follow the `xhtml:link rel="alternate"` versions of each URL. @default false */
  sitemapAlternateLinks?: boolean;
}

/** The non-callback keys of a spider. */
export interface SpiderMeta extends SitemapOptions {
  name: string;
  startUrls?: StartEntry[];
  start?: () => AsyncIterable<StartEntry> | Iterable<StartEntry>;
  settings?: CrawlSettings;
  rules?: LinkRule<string>[];
  /**
   * The key an item is stored under, so a page crawled again (a resumed or distributed crawl)
   * overwrites its row instead of adding one: outputs that upsert (PostgreSQL, keyv) use it.
   * Runs on the main thread. @default the request fingerprint and the item's index on its page
   */
  itemKey?: (item: Item) => string;
  /**
   * Expectations per callback, checked offline by `trawl check` against recorded responses
   * (see src/contracts/).
   */
  contracts?: Record<string, SpiderContract>;
}

/** A spider: its metadata plus callbacks keyed by name. */
export type Spider = SpiderMeta & { [callback: string]: unknown };

/**
 * Declares a spider with typed callback names: `page.follow(href, 'book')` is a type error when the
 * spider has no `book` callback.
 */
export function defineSpider<K extends string>(
  spider: SpiderMeta & {
    [P in K]: P extends keyof SpiderMeta ? SpiderMeta[P] : Callback<Exclude<K, keyof SpiderMeta>>;
  } & {
    rules?: LinkRule<Exclude<K, keyof SpiderMeta>>[];
    sitemapRules?: SitemapRule<Exclude<K, keyof SpiderMeta>>[];
    contracts?: Partial<Record<Exclude<K, keyof SpiderMeta>, SpiderContract>>;
  },
): Spider {
  return spider;
}

/**
 * Builds a follow-up request outside of `page.follow`, e.g. in `start()`. A `form`, `json` or
 * URLSearchParams `body` is encoded to a string body with its content type here, so the request
 * is plain data.
 */
export function request(init: RequestInit): FollowRequest {
  return followRequest(init, 'request');
}

/** `request()` as the page's helpers call it: `root` names the call in errors (`follow.rendr`). */
export function followRequest(init: RequestInit, root: string): FollowRequest {
  // Not `{ ...init, [REQUEST_BRAND]: true }`: on Node 20's V8 an object spread that more
  // properties then extend keeps ~80 bytes per object reachable until a full GC, which for a
  // page's follow-ups was most of what outlived the page (bench/README.md, "What outlives a page").
  return Object.assign({ [REQUEST_BRAND]: true as const }, prepareRequest(init, root));
}

export function isFollowRequest(value: unknown): value is FollowRequest {
  return typeof value === 'object' && value !== null && (value as never)[REQUEST_BRAND] === true;
}

/** Names of the callbacks a spider object has. */
export function callbackNames(spider: Spider): string[] {
  return Object.keys(spider).filter(
    (key) =>
      key !== 'start' && key !== 'itemKey' && typeof (spider as Record<string, unknown>)[key] === 'function',
  );
}

/**
 * Picks the spider out of an imported module (default export, or a named `spider` export) and
 * checks its shape, so a wrong file fails with one clear line rather than deep in a worker.
 */
export function spiderFromModule(mod: Record<string, unknown>, path: string): Spider {
  let candidate = mod.default ?? mod.spider;
  // A CommonJS or transpiled module may nest the default export one level deeper.
  if (candidate && typeof candidate === 'object' && 'default' in candidate && !('name' in candidate))
    candidate = (candidate as Record<string, unknown>).default;
  if (!candidate || typeof candidate !== 'object')
    throw new SpiderInvalidError(
      `${path} has no spider: expected a default export made with defineSpider({...})`,
    );
  validateSpider(candidate as Spider, path);
  return candidate as Spider;
}

export function validateSpider(spider: Spider, where: string): void {
  if (typeof spider.name !== 'string' || spider.name.length === 0)
    throw new SpiderInvalidError(`${where}: spider.name must be a non-empty string`);
  if (spider.startUrls !== undefined && !Array.isArray(spider.startUrls))
    throw new SpiderInvalidError(`${where}: spider.startUrls must be an array of URLs`);
  if (spider.start !== undefined && typeof spider.start !== 'function')
    throw new SpiderInvalidError(`${where}: spider.start must be a function returning URLs or requests`);
  validateSitemapOptions(spider, where);
  if (callbackNames(spider).length === 0 && !spider.rules?.length)
    throw new SpiderInvalidError(
      `${where}: spider ${spider.name} has no callbacks (define at least parse(page))`,
    );
  if (spider.rules !== undefined) validateRules(spider, where);
}

const RULE_KEYS = new Set(['allow', 'deny', 'selector', 'callback', 'follow', 'userData', 'priority']);

/** Checks link rules up front, on the main thread, so a typo fails the crawl at once with its path. */
function validateRules(spider: Spider, where: string): void {
  if (!Array.isArray(spider.rules))
    throw new SpiderInvalidError(`${where}: spider.rules must be an array of link rules`);
  spider.rules.forEach((rule: unknown, i) => {
    const path = `${where}: spider.rules[${i}]`;
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule))
      throw new SpiderInvalidError(
        `${path} must be an object like { allow, deny, selector, callback, follow }`,
      );
    const r = rule as Record<string, unknown>;
    for (const key of Object.keys(r))
      if (!RULE_KEYS.has(key))
        throw new SpiderInvalidError(
          `${path}.${key} is not a rule option (known: ${[...RULE_KEYS].join(', ')})`,
        );
    for (const key of ['allow', 'deny'] as const) {
      const value = r[key];
      if (value === undefined) continue;
      const list = Array.isArray(value) ? value : [value];
      for (const pattern of list)
        if (!(typeof pattern === 'string' || pattern instanceof RegExp) || pattern === '')
          throw new SpiderInvalidError(`${path}.${key} must be a glob string, a RegExp, or an array of them`);
    }
    if (r.selector !== undefined && (typeof r.selector !== 'string' || r.selector.trim() === ''))
      throw new SpiderInvalidError(`${path}.selector must be a non-empty CSS selector`);
    if (r.callback !== undefined) {
      if (typeof r.callback !== 'string')
        throw new SpiderInvalidError(`${path}.callback must be the name of a callback`);
      if (typeof spider[r.callback] !== 'function' && r.callback !== 'parse')
        throw new SpiderInvalidError(
          `${path}.callback names ${JSON.stringify(r.callback)}, but spider ${spider.name} has no such callback`,
        );
    }
    if (r.follow !== undefined && typeof r.follow !== 'boolean')
      throw new SpiderInvalidError(`${path}.follow must be true or false`);
    if (r.userData !== undefined && (typeof r.userData !== 'object' || r.userData === null))
      throw new SpiderInvalidError(`${path}.userData must be an object`);
    if (r.priority !== undefined && !Number.isFinite(r.priority))
      throw new SpiderInvalidError(`${path}.priority must be a number`);
  });
}
