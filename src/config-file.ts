/**
 * Project settings in `trawl.config.{ts,mjs,js,json}`, found from a directory upward, as a
 * project's settings.py is for Scrapy. A config file holds crawl settings (those a spider may
 * declare) and the crawl options about how this machine runs a crawl (`workers`, ...); its keys
 * are checked like a spider's, so an unknown one is an error with its path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { OptionError, SpiderInvalidError, UsageError } from './errors.js';
import { importModule } from './load-module.js';
import { checkOptions, strict } from './option-schema.js';
import type { CrawlOptions, CrawlSettings } from './options.js';
import { crawlOnlyShape, settingsShape } from './settings-schema.js';

/** The names looked for in each directory, first match wins. */
export const CONFIG_FILE_NAMES = [
  'trawl.config.ts',
  'trawl.config.mjs',
  'trawl.config.js',
  'trawl.config.json',
];

/** What a config file may set. */
export type ConfigSettings = CrawlSettings &
  Pick<CrawlOptions, 'workers' | 'workerHeapMb' | 'itemBuffer' | 'stopGraceMs'>;

const { workers, workerHeapMb, itemBuffer, stopGraceMs } = crawlOnlyShape;
const configSchema = strict({ ...settingsShape, workers, workerHeapMb, itemBuffer, stopGraceMs });

/** The config file nearest `from` (itself or an ancestor), or undefined. */
export function findConfigFile(from = process.cwd()): string | undefined {
  let dir = resolve(from);
  for (;;) {
    for (const name of CONFIG_FILE_NAMES) {
      const path = join(dir, name);
      if (existsSync(path)) return path;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The settings of a config file, checked: a module's default export (an object), or a JSON
 * object. Values come back as written, without defaults, so the caller can layer them.
 */
export async function loadConfigFile(path: string): Promise<ConfigSettings> {
  let value: unknown;
  if (path.endsWith('.json')) {
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new UsageError(`config file ${path}: ${(error as Error).message}`, { cause: error });
    }
  } else {
    try {
      value = (await importModule(resolve(path))).default;
    } catch (error) {
      const message =
        error instanceof SpiderInvalidError
          ? error.message.replace('spider module', 'config file')
          : String(error);
      throw new UsageError(message, { cause: error });
    }
  }
  return checkConfig(value, `config file ${path}`);
}

/** `value` if it holds only known settings of valid values, else a UsageError naming `where` and the path. */
export function checkConfig(value: unknown, where: string): ConfigSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError(`${where}: expected an object of settings (export default { ... })`);
  try {
    checkOptions(configSchema, value, { root: '', noun: 'setting' });
  } catch (error) {
    if (error instanceof OptionError) throw new UsageError(`${where}: ${error.message}`, { cause: error });
    throw error;
  }
  return value;
}
