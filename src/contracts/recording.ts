/**
 * Recorded responses for spider contracts: one JSON file per callback beside the spider
 * (`recordings/<spider file name>/<callback>.json`), holding the request, the response and the
 * output the callback gave on it. Recorded by a short crawl of the live (or demo) site, or taken
 * from the development HTTP cache.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import Keyv from 'keyv';
import { HttpCache } from '../fetcher/cache.js';
import type { HttpCacheOptions } from '../options.js';
import { Crawl } from '../pipeline/crawl.js';
import { canonicalUrl } from '../pipeline/fingerprint.js';
import { type PageRequest, pageRequestOf, type Spider, type StartEntry } from '../spider.js';
import type { CrawlRequest, FetchedResponse } from '../types.js';
import type { OutputSnapshot, SpiderContract } from './contract.js';

export interface Recording {
  callback: string;
  recordedAt: string;
  request: PageRequest;
  response: {
    url: string;
    status: number;
    headers: Record<string, string>;
    encoding: string;
    /** The body as text when it is valid UTF-8 (readable in a diff), else base64. */
    body: string;
    bodyEncoding: 'utf8' | 'base64';
  };
  output: OutputSnapshot;
}

/** A page captured for a callback, before its output is known. */
export type Capture = Omit<Recording, 'output' | 'recordedAt'>;

export function recordingsDir(spiderPath: string): string {
  return join(dirname(spiderPath), 'recordings', basename(spiderPath, extname(spiderPath)));
}

const fileOf = (dir: string, callback: string) => join(dir, `${callback}.json`);

export async function readRecording(dir: string, callback: string): Promise<Recording | undefined> {
  try {
    return JSON.parse(await readFile(fileOf(dir, callback), 'utf8')) as Recording;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function writeRecording(dir: string, recording: Recording): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = fileOf(dir, recording.callback);
  await writeFile(`${file}.tmp`, `${JSON.stringify(recording, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

export function bodyBytes(recording: Capture): Uint8Array {
  const { body, bodyEncoding } = recording.response;
  return new Uint8Array(Buffer.from(body, bodyEncoding === 'utf8' ? 'utf8' : 'base64'));
}

function captureOf(request: CrawlRequest, response: FetchedResponse): Capture {
  let body: string;
  let bodyEncoding: 'utf8' | 'base64' = 'utf8';
  try {
    body = new TextDecoder('utf-8', { fatal: true }).decode(response.body);
  } catch {
    body = Buffer.from(response.body).toString('base64');
    bodyEncoding = 'base64';
  }
  return {
    callback: request.callback,
    request: pageRequestOf(request),
    response: {
      url: response.url,
      status: response.status,
      headers: response.headers,
      encoding: response.encoding,
      body,
      bodyEncoding,
    },
  };
}

export interface CaptureOptions {
  /** Start URLs for the recording crawl, replacing the spider's and the contracts' sample URLs. */
  start?: string[];
  /** Pages the recording crawl may fetch. @default 200 */
  maxPages?: number;
  signal?: AbortSignal;
}

/**
 * Crawls the spider until every contracted callback has been handed a GET page (or the page
 * limit), keeping the responses in an in-memory HTTP cache, and returns one capture a callback.
 * A contract's sample URL is a start request for its callback, and is the page recorded for it.
 */
export async function captureByCrawl(
  spiderPath: string,
  spider: Spider,
  contracts: Record<string, SpiderContract>,
  options: CaptureOptions,
): Promise<Map<string, Capture>> {
  const keyv = new Keyv();
  const samples = new Map<string, string>();
  if (!options.start)
    for (const [callback, contract] of Object.entries(contracts))
      if (contract.url) samples.set(callback, canonicalUrl(contract.url));
  const start: StartEntry[] | undefined = options.start ?? startWithSamples(spider, contracts);
  const job = new Crawl(spiderPath, {
    ...(start ? { start } : {}),
    httpCache: { keyv } satisfies HttpCacheOptions,
    maxPages: options.maxPages ?? 200,
    timeLimitMs: 120_000,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const chosen = new Map<string, CrawlRequest>();
  job.events.on('response', ({ request, status }) => {
    const { callback } = request;
    if (!(callback in contracts) || chosen.has(callback) || request.method !== 'GET' || status >= 400) return;
    const sample = samples.get(callback);
    if (sample !== undefined && request.url !== sample) return;
    chosen.set(callback, request);
    if (chosen.size === Object.keys(contracts).length) job.stop('finished');
  });
  for await (const _item of job);
  return fromCache(await HttpCache.open({ keyv }), chosen);
}

/** The spider's start URLs with each contract's sample URL added as a request for its callback. */
function startWithSamples(
  spider: Spider,
  contracts: Record<string, SpiderContract>,
): StartEntry[] | undefined {
  const samples = Object.entries(contracts)
    .filter(([, c]) => c.url)
    .map(([callback, c]) => ({ url: c.url!, callback }));
  if (samples.length === 0) return undefined;
  return [...samples, ...(spider.sitemapUrls ?? spider.startUrls ?? [])];
}

async function fromCache(
  cache: HttpCache,
  requests: Map<string, CrawlRequest>,
): Promise<Map<string, Capture>> {
  const captures = new Map<string, Capture>();
  try {
    for (const [callback, request] of requests) {
      const response = await cache.get(request);
      if (response) captures.set(callback, captureOf(request, response));
    }
  } finally {
    await cache.close();
  }
  return captures;
}

/** Each contract's sample URL, as the development HTTP cache (`httpCache`) stored it. */
export async function captureFromCache(
  cacheUri: string,
  contracts: Record<string, SpiderContract>,
): Promise<Map<string, Capture>> {
  const requests = new Map<string, CrawlRequest>();
  for (const [callback, contract] of Object.entries(contracts)) {
    if (!contract.url) continue;
    const url = canonicalUrl(contract.url);
    requests.set(callback, {
      url,
      method: 'GET',
      callback,
      userData: {},
      priority: 0,
      depth: 0,
      dontFilter: false,
      acceptBinary: false,
      fingerprint: '',
      attempts: 0,
    });
  }
  return fromCache(await HttpCache.open(cacheUri), requests);
}
