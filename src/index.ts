/**
 * The public surface of trawl. Everything a user imports comes from here (the demo shop from
 * `trawl/demo`); whatever is not named here is internal and may change.
 */

export {
  AbortedError,
  BlockedAddressError,
  BodyTooLargeError,
  BrowserUnavailableError,
  CallbackError,
  ContentTypeSkippedError,
  DecodeError,
  type ErrorCode,
  HttpStatusError,
  InvalidUrlError,
  ItemError,
  JobDirError,
  MonitorError,
  NetworkError,
  OptionError,
  OutputOpenError,
  ParseTimeoutError,
  RedirectError,
  redactUrl,
  RenderError,
  RobotsDisallowedError,
  RobotsUnavailableError,
  SharedFrontierError,
  SinkError,
  SpiderInvalidError,
  SpiderNotFoundError,
  TimeoutError,
  type TimeoutPhase,
  TrawlError,
  type TrawlErrorOptions,
  UsageError,
  WorkerCrashError,
  WorkerStartError,
} from './errors.js';
export type { ContractResult, SpiderContract } from './contracts/contract.js';
export { type CheckOptions, type CheckReport, checkSpider, type ContractOutcome } from './contracts/check.js';
export {
  checkConfig,
  CONFIG_FILE_NAMES,
  type ConfigSettings,
  findConfigFile,
  loadConfigFile,
} from './config-file.js';
export { type FetchedPage, fetchPage, type FetchPageOptions } from './fetcher/fetch-page.js';
export type {
  AdaptiveThrottleOptions,
  BackoffOptions,
  BrowserOptions,
  CrawlOptions,
  CrawlSettings,
  DistributedOptions,
  DnsLookup,
  HostLimit,
  HostRule,
  HttpCacheOptions,
  RecrawlOptions,
  SinkOptions,
  TimeoutOptions,
} from './options.js';
export { effectiveSettings } from './options.js';
export type { HostSnapshot } from './fetcher/host-limits.js';
export {
  type ListenAddress,
  type Monitor,
  type MonitorOptions,
  parseListenAddress,
  startMonitor,
} from './monitor/monitor.js';
export type { HostLatency } from './monitor/latency.js';
export type { HostRow, MonitorState, RecentFailure } from './monitor/state.js';
export type { TimelineSeries } from './monitor/timeline.js';
export type { ClickData, FormValues } from './parser/forms.js';
export { type ParsedPage, pageOf, parsePage, type ParsePageOptions } from './parser/parse-page.js';
export { type Crawl, crawl, type SpiderSource } from './pipeline/crawl.js';
export { importSpider } from './pipeline/wiring.js';
export type { CrawlEventMap, CrawlEvents, LogEvent } from './pipeline/events.js';
export { jobExists } from './pipeline/job-dir.js';
export {
  deleteSharedCrawl,
  type SharedCrawlHost,
  type SharedCrawlProcess,
  type SharedCrawlStatus,
  sharedCrawlExists,
  sharedCrawlStatus,
} from './pipeline/crawl-status.js';
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
  type SitemapOptions,
  type SitemapRule,
  type Spider,
  type SpiderMeta,
  type StartEntry,
  type SubmitFormOptions,
} from './spider.js';
export { CsvSink, type CsvSinkOptions } from './storage/csv.js';
export { JsonSink } from './storage/json.js';
export { JsonlSink } from './storage/jsonl.js';
export { KeyvSink, type KeyvSinkOptions } from './storage/keyv.js';
export { MemorySink } from './storage/memory.js';
export { ParquetSink, type ParquetSinkOptions } from './storage/parquet.js';
export { PostgresSink, type PostgresSinkOptions } from './storage/postgres.js';
export { RedisStreamSink, type RedisStreamSinkOptions } from './storage/redis-stream.js';
export type { ItemSink, Sink, SinkContext, StoredItem } from './storage/sink.js';
export type { SinkStats } from './storage/sink-writer.js';
export { StdoutSink } from './storage/stdout.js';
export { sinkFromUri } from './storage/uri.js';
export type {
  CrawlRequest,
  FailureRecord,
  FormFields,
  HttpMethod,
  Item,
  PageValidators,
  RenderOptions,
  RequestInit,
  RequestOptions,
  ResourceType,
} from './types.js';
