/**
 * Spider contracts: what a callback must produce from a sample page, checked offline against a
 * recorded response (like Scrapy's contracts, without their trip to the live site), plus the
 * output recorded with it, so a change shows as a readable diff.
 */
import type { Item, RequestInit } from '../types.js';

/** What a contract's `check` function gets: the callback's output on the recorded page. */
export interface ContractResult {
  url: string;
  items: Item[];
  requests: RequestInit[];
}

/** The expectations for one callback. */
export interface SpiderContract {
  /**
   * A page to record for this callback: fetched with the recording crawl, handed to this callback.
   * Without it, the first page the crawl hands to the callback is recorded. Not used when the
   * recording is given other start URLs (`--start`), whose site it belongs to. @default none
   */
  url?: string;
  /** At least this many items. @default 0 */
  minItems?: number;
  /** At most this many items. @default no limit */
  maxItems?: number;
  /** At least this many follow-up requests. @default 0 */
  minRequests?: number;
  /** At most this many follow-up requests. @default no limit */
  maxRequests?: number;
  /** Fields every item must have, not empty (not undefined, null, '' or NaN). @default [] */
  fields?: string[];
  /**
   * A check of its own: return (or throw) what is wrong, as a string or strings; return nothing
   * when all is well.
   */
  check?: (result: ContractResult) => string | string[] | undefined | void;
}

const isEmpty = (value: unknown) =>
  value === undefined || value === null || value === '' || (typeof value === 'number' && Number.isNaN(value));

/** What is wrong with `result` against `contract`, one line per problem; empty when it holds. */
export function contractProblems(contract: SpiderContract, result: ContractResult): string[] {
  const problems: string[] = [];
  const range = (what: string, count: number, min = 0, max = Infinity) => {
    if (count < min) problems.push(`expected at least ${min} ${what}, got ${count}`);
    if (count > max) problems.push(`expected at most ${max} ${what}, got ${count}`);
  };
  range('items', result.items.length, contract.minItems, contract.maxItems);
  range('requests', result.requests.length, contract.minRequests, contract.maxRequests);
  for (const field of contract.fields ?? []) {
    const missing = result.items.filter((item) => isEmpty(item[field])).length;
    if (missing > 0)
      problems.push(`field ${JSON.stringify(field)} is empty in ${missing} of ${result.items.length} items`);
  }
  if (contract.check) {
    try {
      const own = contract.check(result);
      if (typeof own === 'string' && own) problems.push(own);
      else if (Array.isArray(own)) problems.push(...own.filter(Boolean));
    } catch (error) {
      problems.push(`check threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

/** The part of a callback's output kept with a recording and compared on each check. */
export interface OutputSnapshot {
  items: unknown[];
  requests: Array<{ url: string; callback: string }>;
}

export function snapshotOf(result: ContractResult): OutputSnapshot {
  return {
    // Through JSON, as the recording stores it: NaN and undefined compare as the file has them.
    items: JSON.parse(JSON.stringify(result.items)),
    requests: result.requests.map((r) => ({ url: r.url, callback: r.callback ?? 'parse' })),
  };
}

const MAX_DIFF_LINES = 40;

/**
 * A readable diff from the recorded output to the current one: fields of items that changed
 * (`- old`, `+ new`), items and requests that appeared or went away. Empty when they match.
 */
export function outputDiff(before: OutputSnapshot, after: OutputSnapshot): string[] {
  const lines: string[] = [];
  const show = (value: unknown) => (value === undefined ? '(missing)' : JSON.stringify(value));
  const count = Math.max(before.items.length, after.items.length);
  for (let i = 0; i < count; i++) {
    const was = before.items[i] as Record<string, unknown> | undefined;
    const now = after.items[i] as Record<string, unknown> | undefined;
    if (!now) lines.push(`  item ${i}: gone`, `    - ${show(was)}`);
    else if (!was) lines.push(`  item ${i}: new`, `    + ${show(now)}`);
    else
      for (const key of new Set([...Object.keys(was), ...Object.keys(now)]))
        if (JSON.stringify(was[key]) !== JSON.stringify(now[key]))
          lines.push(`  item ${i} ${key}:`, `    - ${show(was[key])}`, `    + ${show(now[key])}`);
  }
  const key = (r: { url: string; callback: string }) => `${r.callback} ${r.url}`;
  const old = new Set(before.requests.map(key));
  const current = new Set(after.requests.map(key));
  for (const r of old) if (!current.has(r)) lines.push(`  request gone: - ${r}`);
  for (const r of current) if (!old.has(r)) lines.push(`  request new:  + ${r}`);
  if (lines.length <= MAX_DIFF_LINES) return lines;
  return [...lines.slice(0, MAX_DIFF_LINES), `  ... and ${lines.length - MAX_DIFF_LINES} more lines`];
}
