/**
 * The vocabulary option schemas are declared in, and the check that turns a value's first problem
 * into an OptionError. Each kind of value carries the words its errors and the README use
 * (`an integer >= 1`); every object is strict, so a key with no place there is an error with its
 * path and, when one is close, the key that was meant.
 */
import * as v from 'valibot';
import { OptionError } from './errors.js';

/** Any schema of this vocabulary. */
export type Schema = v.GenericSchema;

export interface KindFlags {
  /** The value may hold credentials (a proxy or Redis URL): errors do not show it. */
  secret?: boolean;
  /** Errors show the type of what was received rather than the value (functions, objects). */
  showType?: boolean;
}

/** What each kind of value is called where it is expected: in errors and in the settings table. */
const expectations = new WeakMap<Schema, { expected: string } & KindFlags>();

/** Documented defaults where the schema applies none (computed, or absent). */
const defaultTexts = new WeakMap<Schema, string>();

/** A value of type T that passes `test`, described as `expected`. */
export function kind<T>(expected: string, test: (value: unknown) => boolean, flags: KindFlags = {}) {
  const schema = v.custom<T>(test, expected);
  expectations.set(schema, { expected, ...flags });
  return schema;
}

export const positiveInt = () =>
  kind<number>('an integer >= 1', (x) => typeof x === 'number' && Number.isInteger(x) && x >= 1);
export const nonNegativeInt = () =>
  kind<number>('an integer >= 0', (x) => typeof x === 'number' && Number.isInteger(x) && x >= 0);
/** Durations and factors; Infinity means never. */
export const positive = () => kind<number>('a number > 0', (x) => typeof x === 'number' && x > 0);
export const nonNegative = () =>
  kind<number>('a finite number >= 0', (x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
/** A count or duration limit: Infinity means none. */
export const limit = (min = 1) =>
  kind<number>(
    `an integer >= ${min} or Infinity`,
    (x) => x === Number.POSITIVE_INFINITY || (typeof x === 'number' && Number.isInteger(x) && x >= min),
  );
export const bool = () => kind<boolean>('a boolean', (x) => typeof x === 'boolean');
export const nonEmptyString = () =>
  kind<string>('a non-empty string', (x) => typeof x === 'string' && x.length > 0);
const httpStatus = () =>
  kind<number>(
    'an integer from 100 to 599',
    (x) => typeof x === 'number' && Number.isInteger(x) && x >= 100 && x <= 599,
  );

/** Statuses outside 2xx handed to callbacks, as `acceptStatus` lists them. */
export const statusList = () => list(httpStatus(), 'an array of HTTP statuses (100-599)');

/** An object with exactly these keys; any other key is an error. */
export function strict<const E extends v.ObjectEntries>(entries: E, expected = 'an object') {
  return expecting(v.strictObject(entries, expected), expected);
}

export function list<const T extends Schema>(item: T, expected: string) {
  return expecting(v.array(item, expected), expected);
}

/** An object of any keys, each value of one kind (headers). */
export function record<const T extends Schema>(value: T, expected: string) {
  return expecting(v.record(v.string(), value, expected), expected);
}

export function oneOf<const T extends v.UnionOptions>(options: T, expected: string) {
  return expecting(v.union(options, expected), expected);
}

function expecting<T extends Schema>(schema: T, expected: string): T {
  expectations.set(schema, { expected });
  return schema;
}

/** Marks an optional value's default as documented text, e.g. `min(cores, 4)` or `none`. */
export function documented<T extends Schema>(schema: T, text: string): T {
  defaultTexts.set(schema, text);
  return schema;
}

/** What a value of `schema` is called, as errors and the settings table say it. */
export function expectedOf(schema: Schema): string | undefined {
  return describedBy(schema)?.expected;
}

function describedBy(schema: Schema): ({ expected: string } & KindFlags) | undefined {
  for (const node of layers(schema)) {
    const entry = expectations.get(node);
    if (entry) return entry;
  }
  return undefined;
}

/** The documented default of `schema`, when it is words rather than a value it applies. */
export function defaultTextOf(schema: Schema): string | undefined {
  for (const node of layers(schema)) {
    const text = defaultTexts.get(node);
    if (text !== undefined) return text;
  }
  return undefined;
}

/** Where a value being checked came from, for the paths and words of its errors. */
export interface CheckContext {
  /** Path of the value as the user wrote it: `settings`, `follow`, or '' for crawl options. */
  root: string;
  /** What a key is called: `setting`, `option`, `request option`. */
  noun: string;
  /** Top-level keys that belong elsewhere, each with the reason given instead of "unknown". */
  misplaced?: ReadonlyMap<string, string>;
}

/** `value` parsed by `schema` (defaults applied), or an OptionError for its first problem. */
export function checkOptions<S extends Schema>(
  schema: S,
  value: unknown,
  context: CheckContext,
): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  throw optionError(schema, result.issues, context);
}

type Issue = v.BaseIssue<unknown>;

/** A key with no place there is reported first (the likeliest typo), else the first problem. */
export function optionError(schema: Schema, issues: readonly Issue[], context: CheckContext): OptionError {
  const settled = issues.map((issue) => settle(issue, []));
  const { issue, path } = settled.find((s) => isUnknownKey(s.issue)) ?? settled[0]!;
  if (isUnknownKey(issue)) {
    const parent = path.slice(0, -1);
    const key = String(path.at(-1));
    const where = formatPath(context.root, path);
    const reason = parent.length === 0 ? context.misplaced?.get(key) : undefined;
    if (reason) return new OptionError(where, reason);
    const known = keysAt(schema, parent);
    const near = closest(key, known);
    return new OptionError(
      where,
      near
        ? `unknown ${context.noun}, did you mean ${near}?`
        : `unknown ${context.noun}; known: ${known.join(', ')}`,
    );
  }
  // The schema at the path words what was expected, also for a key that is missing.
  const leaf = nodeAt(schema, path);
  const entry = leaf && describedBy(leaf);
  const input = issue.input;
  const received = entry?.secret
    ? '(not shown)'
    : entry?.showType
      ? input === null
        ? 'null'
        : typeof input
      : input;
  return new OptionError(formatPath(context.root, path), entry?.expected ?? issue.message, received);
}

function isUnknownKey(issue: Issue): boolean {
  return issue.type === 'strict_object' && issue.expected === 'never';
}

interface Settled {
  issue: Issue;
  /** From the checked value's root down to the value at fault. */
  path: PropertyKey[];
}

/**
 * A union's failure is reported from the option that got furthest into the value (an object
 * whose keys were read), so `{ maxGapMs: -1 }` for `boolean | object` names `maxGapMs`, not
 * "a boolean or an object". The issues of a union's options have paths relative to it.
 */
function settle(issue: Issue, base: readonly PropertyKey[]): Settled {
  const path = [...base, ...(issue.path ?? []).map((item) => item.key as PropertyKey)];
  let best: Settled = { issue, path };
  if (issue.type !== 'union' || !issue.issues) return best;
  for (const inner of issue.issues) {
    const candidate = settle(inner, path);
    if (candidate.path.length > best.path.length) best = candidate;
  }
  return best;
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** The keys of the object schema at `path`, looking through defaults, lists and unions. */
function keysAt(schema: Schema, path: readonly PropertyKey[]): string[] {
  const node = nodeAt(schema, path);
  const object = node && objectOf(node);
  return object ? Object.keys(object.entries) : [];
}

/** The schema that checks the value at `path`. */
function nodeAt(schema: Schema, path: readonly PropertyKey[]): Schema | undefined {
  let node: Schema | undefined = schema;
  for (const key of path) node = node && childOf(node, key);
  return node;
}

/** `schema` and the schemas it wraps (an optional value's inner one), outermost first. */
function layers(schema: Schema): Schema[] {
  const out = [schema];
  let node = schema as Schema & { wrapped?: Schema };
  while (node.wrapped && ['optional', 'nullable', 'nullish', 'non_optional'].includes(node.type)) {
    node = node.wrapped;
    out.push(node);
  }
  return out;
}

/** The innermost schema under an optional wrapper. */
export function unwrap(schema: Schema): Schema {
  return layers(schema).at(-1)!;
}

function childOf(schema: Schema, key: PropertyKey): Schema | undefined {
  const node = unwrap(schema) as Schema & Record<string, unknown>;
  switch (node.type) {
    case 'strict_object':
    case 'object':
      return (node.entries as v.ObjectEntries)[String(key)];
    case 'array':
      return node.item as Schema;
    case 'record':
      return node.value as Schema;
    case 'union':
      for (const option of node.options as Schema[]) {
        const child = childOf(option, key);
        if (child) return child;
      }
  }
  return undefined;
}

/** The object schema a value of `schema` may be (itself, or the object option of a union). */
function objectOf(schema: Schema): { entries: v.ObjectEntries } | undefined {
  const node = unwrap(schema) as Schema & { entries?: v.ObjectEntries; options?: Schema[] };
  if (node.entries) return { entries: node.entries };
  if (node.type === 'union')
    for (const option of node.options ?? []) {
      const object = objectOf(option);
      if (object) return object;
    }
  return undefined;
}

/**
 * The known key `name` most likely stands for: the same word in another case, a key it begins
 * (`delay` for `delayMs`), or one a typo or two away.
 */
function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const sameWord = known.find((k) => k.toLowerCase() === lower);
  if (sameWord) return sameWord;
  if (lower.length >= 3) {
    const extended = known.find((k) => k.toLowerCase().startsWith(lower));
    if (extended) return extended;
  }
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(name.length / 4)) + 1;
  for (const key of known) {
    const d = editDistance(lower, key.toLowerCase());
    if (d < bestDistance) {
      best = key;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  return rows[a.length]![b.length]!;
}
