/**
 * The spider shape. A spider is plain data plus named callbacks; `defineSpider` only adds types, so
 * a module whose default export is a plain object of this shape works the same.
 */
import type { CheerioAPI } from 'cheerio';
import { SpiderInvalidError } from './errors.js';
import type { CrawlSettings } from './options.js';
import type { HttpMethod, Item, RequestInit } from './types.js';

/** Marks a follow-up request yielded by a callback, across module copies and realms. */
export const REQUEST_BRAND: unique symbol = Symbol.for('trawl.request') as never;

export interface FollowOptions {
  method?: HttpMethod;
  headers?: Record<string, string>;
  body?: string;
  userData?: Record<string, unknown>;
  priority?: number;
  dontFilter?: boolean;
  acceptBinary?: boolean;
}

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

export interface PageLog {
  debug(message: string, data?: Record<string, unknown>): void;
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** What a callback receives. `C` is the union of the spider's callback names. */
export interface Page<C extends string = string> {
  /** Final URL, after redirects. */
  readonly url: string;
  readonly status: number;
  /** Response headers, lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Body decoded with the detected charset. */
  readonly text: string;
  /** Raw body bytes. */
  readonly body: Uint8Array;
  /** Cheerio document, parsed on first use so JSON callbacks pay nothing. */
  readonly $: CheerioAPI;
  readonly request: PageRequest;
  readonly log: PageLog;
  /** Parses the body as JSON. */
  json<T = unknown>(): T;
  /** A request for `href` resolved against this page; parsed by `callback` (default: 'parse'). */
  follow(href: string, callback?: C, options?: FollowOptions): FollowRequest;
  /** Requests for every link matched by a CSS selector, or for each href given. */
  followAll(
    selectorOrHrefs: string | Iterable<string>,
    callback?: C,
    options?: FollowOptions,
  ): FollowRequest[];
  /** Absolute http(s) links on the page (optionally within a CSS selector), fragments dropped, deduped. */
  links(selector?: string): string[];
}

/** A value a callback may produce: an item or a follow-up request. */
export type CallbackOutput = Item | FollowRequest;

export type CallbackResult =
  | AsyncIterable<CallbackOutput>
  | Iterable<CallbackOutput>
  | Promise<CallbackOutput | Iterable<CallbackOutput> | undefined | void>
  | CallbackOutput
  | undefined
  | void;

export type Callback<C extends string = string> = (page: Page<C>) => CallbackResult;

export type Pattern = string | RegExp;

/** Declarative link following, like Scrapy's CrawlSpider rules and Crawlee's enqueueLinks. */
export interface LinkRule<C extends string = string> {
  /** URL patterns to take (glob or RegExp); all links when omitted. */
  allow?: Pattern | Pattern[];
  /** URL patterns to skip, checked after `allow`. */
  deny?: Pattern | Pattern[];
  /** CSS scope to take links from. @default 'a[href]' in the whole page */
  selector?: string;
  /** Callback for matched links. @default 'parse' when `follow` is set, else none */
  callback?: C;
  /** Apply the rules again on the matched pages. @default true when no callback, else false */
  follow?: boolean;
}

export type StartEntry = string | RequestInit;

/** The non-callback keys of a spider. */
export interface SpiderMeta {
  name: string;
  startUrls?: StartEntry[];
  start?: () => AsyncIterable<StartEntry> | Iterable<StartEntry>;
  settings?: CrawlSettings;
  rules?: LinkRule<string>[];
}

type MetaKey = keyof SpiderMeta;

/** A spider: its metadata plus callbacks keyed by name. */
export type Spider = SpiderMeta & { [callback: string]: unknown };

/**
 * Declares a spider with typed callback names: `page.follow(href, 'book')` is a type error when the
 * spider has no `book` callback.
 */
export function defineSpider<K extends string>(
  spider: SpiderMeta & {
    [P in K]: P extends MetaKey ? SpiderMeta[P] : Callback<Exclude<K, MetaKey>>;
  } & { rules?: LinkRule<Exclude<K, MetaKey>>[] },
): Spider {
  return spider as Spider;
}

/** Builds a follow-up request outside of `page.follow`, e.g. in `start()`. */
export function request(init: RequestInit): FollowRequest {
  return { ...init, [REQUEST_BRAND]: true } as FollowRequest;
}

export function isFollowRequest(value: unknown): value is FollowRequest {
  return typeof value === 'object' && value !== null && (value as never)[REQUEST_BRAND] === true;
}

/** Names of the callbacks a spider object has. */
export function callbackNames(spider: Spider): string[] {
  return Object.keys(spider).filter(
    (key) => key !== 'start' && typeof (spider as Record<string, unknown>)[key] === 'function',
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
  if (callbackNames(spider).length === 0 && !spider.rules?.length)
    throw new SpiderInvalidError(
      `${where}: spider ${spider.name} has no callbacks (define at least parse(page))`,
    );
}
