/**
 * What a request as a user writes it becomes before it leaves the callback: its keys checked,
 * `form`, `json` and a URLSearchParams `body` turned into a string body with its content type, so
 * the request is plain structured-cloneable data (for the worker boundary, the job directory and
 * Redis), and its `acceptStatus` checked. Runs in `request()` and again in the frontier for start
 * entries; running it twice changes nothing.
 */
import * as v from 'valibot';
import { OptionError } from './errors.js';
import {
  bool,
  checkOptions,
  documented,
  kind,
  nonEmptyString,
  oneOf,
  optionError,
  record,
  statusList,
  strict,
} from './option-schema.js';
import type { FormFields, HttpMethod, RequestInit, ResourceType } from './types.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const isObject = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);

const RESOURCE_TYPES: readonly ResourceType[] = [
  'document',
  'stylesheet',
  'image',
  'media',
  'font',
  'script',
  'texttrack',
  'xhr',
  'fetch',
  'eventsource',
  'websocket',
  'manifest',
  'other',
];

/** How a page is rendered (`RenderOptions`), as a request and the `render` setting take it. */
const renderOptionsSchema = strict({
  waitFor: v.optional(nonEmptyString()),
  networkIdle: documented(v.optional(bool()), 'false'),
  scroll: documented(
    v.optional(
      kind<number>(
        'an integer 0-1000',
        (x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 1000,
      ),
    ),
    '0',
  ),
  scrollWaitMs: documented(
    v.optional(
      kind<number>('a positive number', (x) => typeof x === 'number' && Number.isFinite(x) && x > 0),
    ),
    '2000',
  ),
  screenshot: documented(v.optional(bool()), 'false'),
  allowHosts: documented(
    v.optional(
      kind<string[] | '*'>(
        "an array of hostnames or '*'",
        (x) => x === '*' || (Array.isArray(x) && x.every((h) => typeof h === 'string' && h !== '')),
      ),
    ),
    '[]',
  ),
  blockResources: documented(
    v.optional(
      kind<ResourceType[]>(
        `an array of resource types (${RESOURCE_TYPES.join(', ')})`,
        (x) => Array.isArray(x) && x.every((t) => RESOURCE_TYPES.includes(t as ResourceType)),
      ),
    ),
    "['image', 'font', 'media']",
  ),
});

/** `true`, `false` or render options. */
export const renderSchema = oneOf(
  [bool(), renderOptionsSchema],
  'a boolean or render options { waitFor, ... }',
);

/** Every key a request takes (`RequestInit`), as `request()`, `page.follow` and start entries check it. */
export const requestSchema = strict(
  {
    url: nonEmptyString(),
    callback: v.optional(nonEmptyString()),
    method: v.optional(
      kind<HttpMethod>(
        'an HTTP method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)',
        (x) => typeof x === 'string' && METHODS.has(x.toUpperCase()),
      ),
    ),
    headers: v.optional(
      record(
        kind<string>('a string', (x) => typeof x === 'string'),
        'an object of header names to values',
      ),
    ),
    body: v.optional(
      kind<string | URLSearchParams>(
        'a string or URLSearchParams',
        (x) => typeof x === 'string' || x instanceof URLSearchParams,
      ),
    ),
    form: v.optional(
      kind<FormFields>(
        'fields: an object, [name, value] pairs or URLSearchParams',
        (x) => typeof x === 'object' && x !== null,
      ),
    ),
    json: v.optional(v.unknown()),
    acceptStatus: v.optional(statusList()),
    userData: v.optional(kind<Record<string, unknown>>('an object', isObject)),
    priority: v.optional(kind<number>('a finite number', (x) => typeof x === 'number' && Number.isFinite(x))),
    dontFilter: v.optional(bool()),
    acceptBinary: v.optional(bool()),
    render: v.optional(renderSchema),
  },
  'a URL or a request { url, callback?, ... }',
);

const REQUEST_KEYS: ReadonlySet<string> = new Set(Object.keys(requestSchema.entries));

/**
 * Throws an OptionError naming the first key of `init` that no request has, e.g.
 * `option follow.rendr: unknown request option`. Runs for every followed link, so the common case
 * is a walk over the keys; the schema is consulted only to word the error.
 */
export function checkRequestKeys(init: object, root: string): void {
  for (const key in init) {
    if (!REQUEST_KEYS.has(key)) {
      const result = v.safeParse(requestSchema, init);
      // The schema walks the keys the same way, so it fails too; it only words the error.
      if (result.success) return;
      throw optionError(requestSchema, result.issues, { root, noun: 'request option' });
    }
  }
}

const statuses = statusList();

/** A list of HTTP status codes (integers 100-599), as `acceptStatus` takes. */
function checkStatusList(path: string, value: unknown): number[] {
  return checkOptions(statuses, value, { root: path, noun: 'option' });
}

const FORM_URLENCODED = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
/** The Fetch standard's content type for a string body. */
const TEXT_TYPE = 'text/plain;charset=UTF-8';

/** A request init whose body, if any, is a string. */
export type PreparedInit<T extends RequestInit> = Omit<T, 'body' | 'form' | 'json'> & { body?: string };

/**
 * `init` with its body encoded and its content type set (unless the headers set one), and POST as
 * the method of a `form` or `json` request that names none. Returns `init` itself when there is
 * nothing to change; never modifies it. Throws an OptionError for a body it cannot send.
 */
export function prepareRequest<T extends RequestInit>(init: T, root = 'request'): PreparedInit<T> {
  checkRequestKeys(init, root);
  const { body, form, json, acceptStatus } = init;
  if (acceptStatus !== undefined) checkStatusList(`${root}.acceptStatus`, acceptStatus);
  const plain =
    form === undefined &&
    json === undefined &&
    (body === undefined || (typeof body === 'string' && hasContentType(init.headers)));
  if (plain) return init as PreparedInit<T>;
  const given = (['body', 'form', 'json'] as const).filter((key) => init[key] !== undefined);
  if (given.length > 1)
    throw new OptionError(
      'request',
      'only one of body, form and json',
      `${given.join(', ')} for ${init.url}`,
    );
  const out = Object.assign({}, init) as RequestInit;
  delete out.form;
  delete out.json;
  let type: string;
  if (form !== undefined) {
    out.method = init.method ?? 'POST';
    const query = new URLSearchParams(formPairs(form)).toString();
    if (isBodiless(out.method)) {
      delete out.body;
      out.url = withQuery(init.url, query);
      return out as PreparedInit<T>;
    }
    out.body = query;
    type = FORM_URLENCODED;
  } else if (json !== undefined) {
    out.method = init.method ?? 'POST';
    const text = JSON.stringify(json);
    if (typeof text !== 'string')
      throw new OptionError('request.json', 'a value JSON.stringify encodes', typeof json);
    out.body = text;
    type = JSON_TYPE;
  } else if (body instanceof URLSearchParams) {
    out.body = body.toString();
    type = FORM_URLENCODED;
  } else if (typeof body === 'string') {
    type = TEXT_TYPE;
  } else {
    throw new OptionError(
      'request.body',
      'a string or URLSearchParams (json for objects, form for fields)',
      typeof body,
    );
  }
  if (!hasContentType(init.headers)) out.headers = Object.assign({}, init.headers, { 'content-type': type });
  return out as PreparedInit<T>;
}

/** The fields as `[name, value]` pairs in order; an array value gives one pair per element. */
function formPairs(fields: FormFields): Array<[string, string]> {
  if (fields instanceof URLSearchParams) return [...fields];
  if (Array.isArray(fields)) return fields.map(([name, value]) => [String(name), String(value)]);
  if (typeof fields !== 'object' || fields === null)
    throw new OptionError(
      'request.form',
      'an object of fields, [name, value] pairs or URLSearchParams',
      fields === null ? null : typeof fields,
    );
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) pairs.push([name, String(v)]);
    else pairs.push([name, String(value)]);
  }
  return pairs;
}

/** Whether `headers` set a content type, in any spelling of the name. */
function hasContentType(headers: Record<string, string> | undefined): boolean {
  if (!headers) return false;
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-type') return true;
  return false;
}

function isBodiless(method: HttpMethod): boolean {
  const upper = method.toUpperCase();
  return upper === 'GET' || upper === 'HEAD';
}

/** `url` with its query replaced by `query` (the fragment kept), as a GET form submits. */
function withQuery(url: string, query: string): string {
  const hashAt = url.indexOf('#');
  const hash = hashAt < 0 ? '' : url.slice(hashAt);
  const rest = hashAt < 0 ? url : url.slice(0, hashAt);
  const queryAt = rest.indexOf('?');
  return `${queryAt < 0 ? rest : rest.slice(0, queryAt)}?${query}${hash}`;
}
