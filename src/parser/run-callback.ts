import { threadId } from 'node:worker_threads';
import { ItemError } from '../errors.js';
import { isFollowRequest, REQUEST_BRAND, type Spider } from '../spider.js';
import type { Item, RequestInit } from '../types.js';
import { PageImpl } from './page.js';
import type { CallbackFailure, LogLine, ParseOutcome, ParseTask } from './protocol.js';
import { applyRules, type CompiledRules, compileRules } from './rules.js';

/** A spider with its link rules compiled; built once per spider and thread. */
export interface PreparedSpider {
  spider: Spider;
  rules: CompiledRules | undefined;
}

export function prepareSpider(spider: Spider): PreparedSpider {
  return { spider, rules: spider.rules?.length ? compileRules(spider.rules) : undefined };
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
      requests.push(init);
      return;
    }
    items.push(checkItem(value, where));
  };

  try {
    const fn = spider[task.callback];
    if (typeof fn === 'function') {
      const result = await fn.call(spider, page);
      if (isAsyncIterable(result)) for await (const value of result) collect(value);
      else if (isIterable(result)) for (const value of result) collect(value);
      else collect(result);
    } else if (!(rules && task.callback === 'parse')) {
      // A rules-only spider needs no parse(); any other missing name is a mistake.
      throw new ItemError(`spider ${spider.name} has no callback named ${JSON.stringify(task.callback)}`);
    }
  } catch (thrown) {
    error = failure(thrown, where);
  }
  // Rules run even after a failed callback: the links are still there and the crawl goes on.
  if (rules?.followFrom.has(task.callback)) {
    try {
      requests.push(...applyRules(page, rules));
    } catch (thrown) {
      error ??= failure(thrown, where);
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

function failure(thrown: unknown, where: string): CallbackFailure {
  const err = thrown instanceof Error ? thrown : new Error(String(thrown));
  const code = (err as { code?: unknown }).code;
  return {
    code: typeof code === 'string' && code.startsWith('TRAWL_ERR_') ? code : 'TRAWL_ERR_CALLBACK',
    // A bad option (`page.follow(href, 'cb', { rendr: true })`) is named by its path; the
    // callback it was written in is added, as the path alone does not say which one.
    message: code === 'TRAWL_ERR_OPTION' ? `${err.message} (in callback ${where})` : err.message,
    ...(err.stack ? { stack: err.stack } : {}),
  };
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
  const object = value as object;
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
