import {
  type FetchedPage,
  fetchPage,
  type FetchPageOptions,
  importSpider,
  type RequestInit,
  type Spider,
} from '../index.js';
import { collect } from './flags.js';
import { crawlOptionsFrom, deepMerge, parseSetFlags, readConfig } from './settings-layers.js';
import type { Command } from 'commander';

// What `fetch`, `parse` and `shell` share: a spider module (optional), the settings of one fetch
// from the config file, the spider and -s, in the crawl's order of precedence.

/** The crawl settings a one-off fetch takes (fetchPage refuses the others). */
const FETCH_KEYS = [
  'userAgent',
  'headers',
  'timeouts',
  'maxBodyBytes',
  'maxRedirects',
  'retries',
  'backoff',
  'perHost',
  'hosts',
  'obeyRobotsTxt',
  'allowPrivateNetwork',
  'proxy',
  'cookies',
  'acceptStatus',
  'httpCache',
] as const;

export interface OnePageFlags {
  spider?: string;
  set?: string[];
  config?: string;
}

export function addOnePageFlags(command: Command): Command {
  return command
    .option(
      '-s, --set <key=value>',
      'any fetch setting by its path, e.g. -s userAgent=me (repeatable)',
      collect,
    )
    .option('--config <file>', 'settings file (default: the nearest trawl.config.{ts,mjs,js,json} upward)');
}

export interface OnePage {
  spider: Spider | undefined;
  fetch: (
    url: string,
    request?: Pick<RequestInit, 'method' | 'body' | 'headers' | 'acceptStatus'>,
  ) => Promise<FetchedPage>;
}

/** The spider (if named) and a fetch with the settings a crawl of it would use. */
export async function onePage(flags: OnePageFlags): Promise<OnePage> {
  const spider = flags.spider ? await importSpider(flags.spider) : undefined;
  const { config, configPath } = await readConfig(flags.config);
  const cli = parseSetFlags(flags.set ?? []);
  const layered = deepMerge(
    (spider?.settings ?? {}) as Record<string, unknown>,
    crawlOptionsFrom({ cli, spider: spider?.settings ?? {}, config, configPath }) as Record<string, unknown>,
  );
  const settings = Object.fromEntries(
    FETCH_KEYS.filter((k) => layered[k] !== undefined).map((k) => [k, layered[k]]),
  );
  return {
    spider,
    fetch: (url, request = {}) => {
      const options: FetchPageOptions = { ...settings };
      if (request.method) options.method = request.method;
      if (request.body !== undefined) options.body = request.body;
      if (request.headers) options.headers = { ...options.headers, ...request.headers };
      if (request.acceptStatus) options.acceptStatus = request.acceptStatus;
      return fetchPage(url, options);
    },
  };
}
