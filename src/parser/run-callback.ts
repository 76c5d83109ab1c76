import { threadId } from 'node:worker_threads';
import { ItemError } from '../errors.js';
import { isFollowRequest, REQUEST_BRAND, type Spider } from '../spider.js';
import type { Item, RequestInit } from '../types.js';
import { PageImpl } from './page.js';
import type { LogLine, ParseOutcome, ParseTask } from './protocol.js';

/**
 * Runs one spider callback on one page and collects what it yields. Shared by the worker and by
 * main-thread parsing (`workers: 0`), so both behave the same.
 */
export async function runCallback(spider: Spider, task: ParseTask): Promise<ParseOutcome> {
  const started = performance.now();
  const items: Item[] = [];
  const requests: RequestInit[] = [];
  const logs: LogLine[] = [];
  const outcome = (): ParseOutcome => ({
    items,
    requests,
    logs,
    threadId,
    durationMs: performance.now() - started,
  });
  const fn = (spider as Record<string, unknown>)[task.callback];
  try {
    if (typeof fn !== 'function')
      throw new ItemError(`spider ${spider.name} has no callback named ${JSON.stringify(task.callback)}`);
    const page = new PageImpl(task, logs);
    const collect = (value: unknown) => {
      if (value === undefined || value === null) return;
      if (isFollowRequest(value)) {
        const { [REQUEST_BRAND]: _brand, ...init } = value;
        requests.push(init as RequestInit);
        return;
      }
      items.push(checkItem(value, task.callback));
    };
    const result = await fn.call(spider, page);
    if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
      for await (const value of result as AsyncIterable<unknown>) collect(value);
    } else if (
      result &&
      typeof result === 'object' &&
      Symbol.iterator in result &&
      !isFollowRequest(result)
    ) {
      for (const value of result as Iterable<unknown>) collect(value);
    } else {
      collect(result);
    }
    return outcome();
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const code = (err as { code?: unknown }).code;
    return {
      ...outcome(),
      error: {
        code: typeof code === 'string' ? code : 'TRAWL_ERR_CALLBACK',
        message: err.message,
        ...(err.stack ? { stack: err.stack } : {}),
      },
    };
  }
}

const PLAIN_PROTOTYPES = new Set<unknown>([Object.prototype, null]);

/** Items must be plain structured-cloneable data; anything else gets an error naming the callback. */
function checkItem(value: unknown, callback: string): Item {
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ItemError(`callback ${callback} yielded a ${typeof value}; items must be plain objects`);
  checkPlain(value, callback, 'item', new Set());
  return value as Item;
}

function checkPlain(value: unknown, callback: string, path: string, seen: Set<object>): void {
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
        `callback ${callback} yielded an item with a ${typeof value} at ${path}; items must be plain data`,
      );
  }
  const object = value as object;
  if (seen.has(object)) return;
  seen.add(object);
  if (Array.isArray(object)) {
    for (const [i, v] of object.entries()) checkPlain(v, callback, `${path}[${i}]`, seen);
    return;
  }
  if (
    object instanceof Date ||
    object instanceof RegExp ||
    ArrayBuffer.isView(object) ||
    object instanceof ArrayBuffer
  )
    return;
  if (object instanceof Map) {
    for (const [k, v] of object) {
      checkPlain(k, callback, `${path}<key>`, seen);
      checkPlain(v, callback, `${path}.get(${String(k)})`, seen);
    }
    return;
  }
  if (object instanceof Set) {
    for (const v of object) checkPlain(v, callback, `${path}<entry>`, seen);
    return;
  }
  if (!PLAIN_PROTOTYPES.has(Object.getPrototypeOf(object))) {
    const name = (object as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
    throw new ItemError(
      `callback ${callback} yielded an item with a ${name} instance at ${path}; items must be plain data (objects, arrays, primitives)`,
    );
  }
  for (const [k, v] of Object.entries(object)) checkPlain(v, callback, `${path}.${k}`, seen);
}
