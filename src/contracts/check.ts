/**
 * `checkSpider`: runs a spider's contracts against its recorded responses, on this thread and
 * without the network; or records new responses first (a short crawl, or the HTTP cache) and
 * keeps them only when the contracts hold.
 */
import { UsageError } from '../errors.js';
import { importModule, resolveModulePath } from '../load-module.js';
import { prepareSpider, runCallback, type PreparedSpider } from '../parser/run-callback.js';
import { spiderFromModule } from '../spider.js';
import {
  type ContractResult,
  contractProblems,
  outputDiff,
  snapshotOf,
  type SpiderContract,
} from './contract.js';
import {
  bodyBytes,
  type Capture,
  captureByCrawl,
  captureFromCache,
  readRecording,
  recordingsDir,
  writeRecording,
} from './recording.js';

export interface CheckOptions {
  /** Record new responses by crawling the site (the spider's start URLs, or `start`). @default false */
  record?: boolean;
  /** Record from this development HTTP cache (an `httpCache` URI or directory) instead of crawling. */
  fromCache?: string;
  /** Start URLs of the recording crawl (the demo site, a staging copy). */
  start?: string[];
  /** Pages the recording crawl may fetch. @default 200 */
  maxPages?: number;
  /** Accept the callbacks' current output on the stored responses as the recorded one. @default false */
  update?: boolean;
  signal?: AbortSignal;
}

/** How one callback's contract fared. */
export interface ContractOutcome {
  callback: string;
  /** The page checked (as recorded). */
  url?: string;
  /** passed; failed (problems or a changed output); missing (nothing recorded, or nothing reached it). */
  status: 'passed' | 'failed' | 'missing';
  problems: string[];
  /** Recorded output -> current output, readable lines; empty when they match. */
  diff: string[];
  items: number;
  requests: number;
  /** A new recording (or output) was written. */
  written: boolean;
}

export interface CheckReport {
  spider: string;
  /** Where the recordings are. */
  dir: string;
  outcomes: ContractOutcome[];
  ok: boolean;
}

export async function checkSpider(path: string, options: CheckOptions = {}): Promise<CheckReport> {
  const spiderPath = resolveModulePath(path);
  const spider = spiderFromModule(await importModule(spiderPath), path);
  const contracts = spider.contracts;
  if (!contracts || Object.keys(contracts).length === 0)
    throw new UsageError(`spider ${spider.name} declares no contracts (add contracts: { parse: { ... } })`);
  for (const callback of Object.keys(contracts))
    if (typeof spider[callback] !== 'function')
      throw new UsageError(`contracts.${callback}: spider ${spider.name} has no callback ${callback}`);
  const dir = recordingsDir(spiderPath);
  const prepared = prepareSpider(spider);
  let captures: Map<string, Capture> | undefined;
  if (options.fromCache) captures = await captureFromCache(options.fromCache, contracts);
  else if (options.record) captures = await captureByCrawl(spiderPath, spider, contracts, options);
  const outcomes: ContractOutcome[] = [];
  for (const [callback, contract] of Object.entries(contracts))
    outcomes.push(await checkOne({ dir, shownPath: path, prepared, callback, contract, captures, options }));
  return { spider: spider.name, dir, outcomes, ok: outcomes.every((o) => o.status === 'passed') };
}

interface CheckJob {
  dir: string;
  /** The spider path as the user gave it, for hints. */
  shownPath: string;
  prepared: PreparedSpider;
  callback: string;
  contract: SpiderContract;
  captures: Map<string, Capture> | undefined;
  options: CheckOptions;
}

async function checkOne(job: CheckJob): Promise<ContractOutcome> {
  const { dir, callback, contract, captures, options } = job;
  const stored = await readRecording(dir, callback);
  const page = captures ? captures.get(callback) : stored;
  const base = {
    callback,
    problems: [] as string[],
    diff: [] as string[],
    items: 0,
    requests: 0,
    written: false,
  };
  if (!page) {
    const why = captures
      ? options.fromCache
        ? `no cached response for ${contract.url ?? '(no sample url in the contract)'}`
        : `the recording crawl handed no page to ${callback} within ${options.maxPages ?? 200} pages (raise --max-pages, or set contracts.${callback}.url)`
      : `nothing recorded yet: run trawl check ${job.shownPath} --record`;
    return { ...base, status: 'missing', problems: [why] };
  }
  const { result, error } = await runOn(job.prepared, page);
  const problems = error
    ? [error, ...contractProblems(contract, result)]
    : contractProblems(contract, result);
  const output = snapshotOf(result);
  const diff = stored ? outputDiff(stored.output, output) : [];
  // A fresh page (or --update) replaces the recording only when the contract holds on it.
  const renew = (captures !== undefined || options.update === true) && problems.length === 0;
  if (renew)
    await writeRecording(dir, {
      ...page,
      callback,
      recordedAt: captures ? now() : stored!.recordedAt,
      output,
    });
  if (!renew && diff.length > 0) problems.push('output differs from the recording');
  return {
    ...base,
    url: page.response.url,
    status: problems.length === 0 ? 'passed' : 'failed',
    problems,
    diff,
    items: result.items.length,
    requests: result.requests.length,
    written: renew,
  };
}

const now = () => new Date().toISOString();

/** Runs the callback on a recorded page, as a parser thread would. */
async function runOn(
  prepared: PreparedSpider,
  page: Capture,
): Promise<{ result: ContractResult; error?: string }> {
  const outcome = await runCallback(prepared, {
    spiderPath: '',
    callback: page.callback,
    request: page.request,
    url: page.response.url,
    status: page.response.status,
    headers: page.response.headers,
    encoding: page.response.encoding,
    body: bodyBytes(page),
  });
  const result = { url: page.response.url, items: outcome.items, requests: outcome.requests };
  return outcome.error ? { result, error: `callback threw: ${outcome.error.message}` } : { result };
}
