import { threadId } from 'node:worker_threads';
import {
  CallbackError,
  isErrorCode,
  ItemError,
  OptionError,
  redactUrl,
  SpiderInvalidError,
} from '../errors.js';
import { callbackNames, isFollowRequest, REQUEST_BRAND, type Spider } from '../spider.js';
import type { Item, RequestInit } from '../types.js';
import { PageImpl } from './page.js';
import type { CallbackFailure, LogLine, ParseOutcome, ParseTask } from './protocol.js';
import { applyRules, type CompiledRules, compileRules } from './rules.js';
import { readSitemapPage } from '../sitemap/sitemap-page.js';
import { type CompiledSitemaps, compileSitemaps, isSitemapCallback } from '../sitemap/sitemap-options.js';

/** A spider with its link rules compiled; built once per spider and thread. */
export interface PreparedSpider {
  spider: Spider;
  rules: CompiledRules | undefined;
  sitemaps: CompiledSitemaps;
}

export function prepareSpider(spider: Spider): PreparedSpider {
  return {
    spider,
    rules: spider.rules?.length ? compileRules(spider.rules) : undefined,
    sitemaps: compileSitemaps(spider),
  };
}

/**
 * Runs one spider callback on one page, then the link rules, and collects what they yield. Shared
 * by the worker and by main-thread parsing (`workers: 0`), so both behave the same. Never throws:
 * a failure comes back in `error`, with whatever was yielded before it.
 */
export async function runCallback(prepared: PreparedSpider, task: ParseTask): Promise<ParseOutcome> {
  const started = performance.now();
  const { spider, rules } = prepared;
  const items: Item[] = [];
  const requests: RequestInit[] = [];
  const logs: LogLine[] = [];
  const page = new PageImpl(task, logs);
  const where = `${spider.name}.${task.callback}`;
  let error: CallbackFailure | undefined;

  const collect = (value: unknown) => {
    if (value === undefined || value === null) return;
    if (isFollowRequest(value)) {
      const { [REQUEST_BRAND]: _brand, ...init } = value;
      checkRequest(init, where);
      // A misspelt callback name fails here, where it was written, not on the page it leads to.
      if (init.callback !== undefined && !hasCallback(prepared, init.callback))
        throw new SpiderInvalidError(
          `callback ${where} yielded a request for callback ${JSON.stringify(init.callback)}, but ${missing(spider)}`,
        );
      requests.push(init);
      return;
    }
    items.push(checkItem(value, where));
  };

  try {
    // Sitemaps and robots.txt are read here, in the stream, never as a cheerio document.
    if (isSitemapCallback(task.callback))
      await readSitemapPage(
        prepared.sitemaps,
        { ...task, callback: task.callback },
        task.maxBodyBytes,
        requests,
        logs,
      );
    else await callSpider(prepared, task, page, collect);
  } catch (thrown) {
    error = failureOf(thrown, where);
  }
  // Rules run even after a failed callback: the links are still there and the crawl goes on.
  if (rules?.followFrom.has(task.callback)) {
    try {
      requests.push(...applyRules(page, rules));
    } catch (thrown) {
      error ??= failureOf(thrown, where);
    }
  }
  page.release();
  const dropped = page.droppedLinks;
  const anyDropped = dropped.fragment + dropped.scheme + dropped.empty + dropped.invalid > 0;
  return {
    items,
    requests,
    logs,
    ...(anyDropped ? { dropped } : {}),
    ...(error ? { error } : {}),
    threadId,
    durationMs: performance.now() - started,
  };
}

/** Calls the task's callback on the page and hands each value it returns or yields to `collect`. */
async function callSpider(
  prepared: PreparedSpider,
  task: ParseTask,
  page: PageImpl,
  collect: (value: unknown) => void,
): Promise<void> {
  const { spider } = prepared;
  const fn = spider[task.callback];
  if (typeof fn === 'function') {
    const result = await fn.call(spider, page);
    if (isAsyncIterable(result)) for await (const value of result) collect(value);
    else if (isIterable(result)) for (const value of result) collect(value);
    else collect(result);
  } else if (!hasCallback(prepared, task.callback)) {
    throw new SpiderInvalidError(
      `no callback named ${JSON.stringify(task.callback)} for ${task.url}: ${missing(spider)}`,
    );
  }
}

/**
 * What a callback threw, as its failure. A trawl error keeps its code, also one from another copy
 * of trawl that the spider loaded (so told by its code, not its class); anything else is a
 * CallbackError with the thrown message.
 */
export function failureOf(thrown: unknown, where?: string): CallbackFailure {
  const error = thrown instanceof Error ? thrown : undefined;
  const code = (error as { code?: unknown } | undefined)?.code;
  const failure =
    error && isErrorCode(code)
      ? { code, message: redactUrl(error.message) }
      : new CallbackError(error ? error.message : String(thrown), { cause: thrown });
  return {
    code: failure.code,
    // A bad option (`page.follow(href, 'cb', { rendr: true })`) is named by its path; the
    // callback it was written in is added, as the path alone does not say which one.
    message:
      thrown instanceof OptionError && where ? `${failure.message} (in callback ${where})` : failure.message,
    ...(error?.stack ? { stack: redactUrl(error.stack) } : {}),
  };
}

/** A rules-only spider needs no parse(): the rules run after it. */
function hasCallback({ spider, rules }: PreparedSpider, name: string): boolean {
  return typeof spider[name] === 'function' || (name === 'parse' && rules !== undefined);
}

function missing(spider: Spider): string {
  return `spider ${spider.name} has no such callback (it has ${callbackNames(spider).join(', ') || 'none'})`;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Arrays and generators; not strings, and not a lone request. */
function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.iterator in value && !isFollowRequest(value);
}

function checkRequest(init: RequestInit, where: string): void {
  if (typeof init.url !== 'string' || init.url === '')
    throw new ItemError(`callback ${where} yielded a request without a url string`);
  if (init.callback !== undefined && typeof init.callback !== 'string')
    throw new ItemError(`callback ${where} yielded a request whose callback is not a name`);
  if (init.userData !== undefined) {
    if (typeof init.userData !== 'object' || init.userData === null || Array.isArray(init.userData))
      throw new ItemError(`callback ${where} yielded a request whose userData is not an object`);
    checkPlain(init.userData, where, 'request.userData', []);
  }
}

const PLAIN_PROTOTYPES = new Set<unknown>([Object.prototype, null]);

/** Items must be plain structured-cloneable data; anything else gets an error naming the callback. */
function checkItem(value: unknown, where: string): Item {
  if (Array.isArray(value))
    throw new ItemError(
      `callback ${where} yielded an array; yield each item on its own (yield* list) or wrap it in an object`,
    );
  if (typeof value !== 'object')
    throw new ItemError(
      `callback ${where} yielded a ${typeof value} (${preview(value)}); items must be plain objects`,
    );
  checkPlain(value, where, 'item', []);
  return value as Item;
}

/** Walks an item; `ancestors` is the path from the item down, to tell a cycle from a shared value. */
function checkPlain(value: unknown, where: string, path: string, ancestors: object[]): void {
  if (value === null || value === undefined) return;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return;
    case 'function':
    case 'symbol':
      throw new ItemError(
        `callback ${where} yielded an item with a ${typeof value} at ${path}; items must be plain data`,
      );
  }
  const object: object = value;
  if (ancestors.includes(object))
    throw new ItemError(`callback ${where} yielded an item that contains itself at ${path}`);
  if (
    object instanceof Date ||
    object instanceof RegExp ||
    ArrayBuffer.isView(object) ||
    object instanceof ArrayBuffer
  )
    return;
  ancestors.push(object);
  if (Array.isArray(object)) {
    for (const [i, v] of object.entries()) checkPlain(v, where, `${path}[${i}]`, ancestors);
  } else if (object instanceof Map) {
    for (const [k, v] of object) {
      checkPlain(k, where, `${path}<key>`, ancestors);
      checkPlain(v, where, `${path}.get(${String(k)})`, ancestors);
    }
  } else if (object instanceof Set) {
    for (const v of object) checkPlain(v, where, `${path}<entry>`, ancestors);
  } else if (!PLAIN_PROTOTYPES.has(Object.getPrototypeOf(object))) {
    throw new ItemError(
      `callback ${where} yielded an item with ${describeInstance(object)} at ${path}; items must be plain data (objects, arrays, primitives)${hint(object)}`,
    );
  } else {
    for (const [k, v] of Object.entries(object)) checkPlain(v, where, `${path}.${k}`, ancestors);
  }
  ancestors.pop();
}

function describeInstance(object: object): string {
  const name = (object as { constructor?: { name?: string } }).constructor?.name || 'unknown';
  return `a ${name} instance`;
}

function hint(object: object): string {
  // The usual slip: a cheerio selection or node where its text was meant.
  if ('cheerio' in object || 'attribs' in object)
    return '. Take a value with .text(), .attr(name) or .html()';
  if (object instanceof Promise) return '. Await it before yielding';
  return '';
}

function preview(value: unknown): string {
  const text = String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
