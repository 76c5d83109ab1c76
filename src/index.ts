/** The public surface of trawl. Everything a user imports comes from here. */

export { ensureDir } from './ensure-dir.js';
export { type DemoBook, type DemoSite, type DemoSiteOptions, demoBooks, startDemoSite } from './demo/site.js';
export {
  AbortedError,
  BlockedAddressError,
  BodyTooLargeError,
  CallbackError,
  ContentTypeSkippedError,
  DecodeError,
  type ErrorCode,
  HttpStatusError,
  InvalidUrlError,
  ItemError,
  JobDirError,
  NetworkError,
  OptionError,
  OutputOpenError,
  ParseTimeoutError,
  RedirectError,
  RobotsDisallowedError,
  RobotsUnavailableError,
  SharedFrontierError,
  SinkError,
  SpiderInvalidError,
  SpiderNotFoundError,
  TimeoutError,
  TrawlError,
  UsageError,
  WorkerCrashError,
} from './errors.js';
export { type AddressClass, classifyAddress } from './fetcher/address-guard.js';
export { type CreateFetcherOptions, Fetcher, type FetcherOptions } from './fetcher/fetcher.js';
export { HostLimits, type HostLimitsOptions, type ResolvedHostLimit } from './fetcher/host-limits.js';
export { parseRetryAfter, type RetryDelayOptions, retryDelayMs } from './fetcher/retry.js';
export { parseRobots, type RobotsRules } from './fetcher/robots.js';
export {
  type AdaptiveThrottleOptions,
  type BackoffOptions,
  type CrawlOptions,
  type CrawlSettings,
  type DistributedOptions,
  DEFAULTS,
  type DnsLookup,
  type HostLimit,
  type HostRule,
  type HttpCacheOptions,
  type TimeoutOptions,
} from './options.js';
export type { ClickData, FormValues } from './parser/forms.js';
export { type Crawl, crawl, type SpiderSource } from './pipeline/crawl.js';
export type { CrawlEventMap, CrawlEvents, LogEvent } from './pipeline/events.js';
export { canonicalUrl, fingerprint } from './pipeline/fingerprint.js';
export { jobExists } from './pipeline/job-dir.js';
export { deleteSharedCrawl, sharedCrawlExists } from './pipeline/shared-frontier.js';
export type { CrawlStats, StopReason } from './pipeline/stats.js';
export {
  type Callback,
  type CallbackOutput,
  type CallbackResult,
  defineSpider,
  type FollowOptions,
  type FollowRequest,
  type FormTarget,
  type HrefElement,
  type LinkRule,
  type LinkSource,
  type LinkValue,
  type Page,
  type PageLog,
  type PageRequest,
  type Pattern,
  request,
  type Spider,
  type SpiderMeta,
  type StartEntry,
  type SubmitFormOptions,
} from './spider.js';
export { CsvSink } from './storage/csv.js';
export { JsonSink } from './storage/json.js';
export { JsonlSink } from './storage/jsonl.js';
export { MemorySink } from './storage/memory.js';
export { KeyvSink, type KeyvSinkOptions } from './storage/keyv.js';
export { PostgresSink, type PostgresSinkOptions } from './storage/postgres.js';
export type { ItemSink } from './storage/sink.js';
export { StdoutSink } from './storage/stdout.js';
export { sinkFromUri } from './storage/uri.js';
export type {
  CrawlRequest,
  FailureRecord,
  FetchedResponse,
  FormFields,
  HttpMethod,
  Item,
  RequestInit,
  RequestOptions,
} from './types.js';
