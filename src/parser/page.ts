import * as cheerio from 'cheerio';
import { InvalidUrlError } from '../errors.js';
import {
  type FollowOptions,
  type FollowRequest,
  type Page,
  type PageLog,
  type PageRequest,
  request,
} from '../spider.js';
import { decodeBody } from './decode.js';
import { baseUrl, resolveLink } from './links.js';
import type { LogLine, ParseTask } from './protocol.js';

/** The `Page` a callback receives. Text and the cheerio document are built on first use. */
export class PageImpl implements Page {
  readonly url: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly request: PageRequest;
  readonly log: PageLog;
  private readonly encoding: string;
  private decoded: string | undefined;
  private document: cheerio.CheerioAPI | undefined;
  private base: string | undefined;

  constructor(task: ParseTask, logs: LogLine[]) {
    this.url = task.url;
    this.status = task.status;
    this.headers = task.headers;
    this.body = task.body;
    this.request = task.request;
    this.encoding = task.encoding;
    const push = (level: LogLine['level']) => (message: string, data?: Record<string, unknown>) => {
      logs.push(
        data === undefined ? { level, message: String(message) } : { level, message: String(message), data },
      );
    };
    this.log = { debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
  }

  get text(): string {
    this.decoded ??= decodeBody(this.body, this.encoding);
    return this.decoded;
  }

  get $(): cheerio.CheerioAPI {
    this.document ??= cheerio.load(this.text);
    return this.document;
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text) as T;
  }

  follow(href: string, callback?: string, options: FollowOptions = {}): FollowRequest {
    const url = resolveLink(href, this.baseUrl());
    if (!url) throw new InvalidUrlError(String(href), `cannot follow from ${this.url}`);
    return request({ ...options, url, ...(callback === undefined ? {} : { callback }) });
  }

  followAll(
    selectorOrHrefs: string | Iterable<string>,
    callback?: string,
    options: FollowOptions = {},
  ): FollowRequest[] {
    const hrefs = typeof selectorOrHrefs === 'string' ? this.hrefs(selectorOrHrefs) : selectorOrHrefs;
    const out: FollowRequest[] = [];
    const seen = new Set<string>();
    for (const href of hrefs) {
      const url = resolveLink(href, this.baseUrl());
      if (!url || seen.has(url)) continue;
      seen.add(url);
      out.push(request({ ...options, url, ...(callback === undefined ? {} : { callback }) }));
    }
    return out;
  }

  links(selector?: string): string[] {
    const scope = selector ? `${selector} a[href], ${selector}[href]` : 'a[href], area[href]';
    const out = new Set<string>();
    for (const href of this.hrefs(scope)) {
      const url = resolveLink(href, this.baseUrl());
      if (url) out.add(url);
    }
    return [...out];
  }

  private hrefs(selector: string): string[] {
    const $ = this.$;
    return $(selector)
      .toArray()
      .map((el) => $(el).attr('href'))
      .filter((href): href is string => typeof href === 'string');
  }

  private baseUrl(): string {
    if (this.base === undefined) {
      const isHtml = /html|xml/i.test(this.headers['content-type'] ?? 'text/html');
      this.base = isHtml ? baseUrl(this.url, this.$('base[href]').first().attr('href')) : this.url;
    }
    return this.base;
  }
}
