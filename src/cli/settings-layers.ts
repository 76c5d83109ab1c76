import {
  checkConfig,
  type ConfigSettings,
  type CrawlOptions,
  type CrawlSettings,
  findConfigFile,
  loadConfigFile,
  redactUrl,
  effectiveSettings,
  UsageError,
} from '../index.js';

// Where a crawl's settings come from, highest first: the command line (flags and -s), the
// spider's settings, the config file, the defaults.

type Tree = Record<string, unknown>;

const isTree = (value: unknown): value is Tree =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.getPrototypeOf(value) === Object.prototype;

/** `-s perHost.delayMs=250 -s obeyRobotsTxt=false`: values are JSON where they parse as JSON, else strings. */
export function parseSetFlags(pairs: readonly string[]): ConfigSettings {
  const tree: Tree = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`-s ${pair}: expected key.path=value, e.g. -s perHost.delayMs=250`);
    const keys = pair.slice(0, eq).split('.');
    let node = tree;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      node = isTree(next) ? next : (node[key] = {});
    }
    node[keys.at(-1)!] = parseValue(pair.slice(eq + 1));
  }
  return checkConfig(tree, '-s');
}

function parseValue(text: string): unknown {
  if (text === 'Infinity') return Number.POSITIVE_INFINITY;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `over` laid on `under`: plain objects key by key, anything else replaced. */
export function deepMerge(under: Tree, over: Tree): Tree {
  const out: Tree = { ...under };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const base = out[key];
    out[key] = isTree(base) && isTree(value) ? deepMerge(base, value) : value;
  }
  return out;
}

/** `tree` without the leaves that `mask` sets: what a lower layer still decides. */
function without(tree: Tree, mask: Tree): Tree {
  const out: Tree = {};
  for (const [key, value] of Object.entries(tree)) {
    if (!(key in mask)) out[key] = value;
    else if (isTree(value) && isTree(mask[key])) out[key] = without(value, mask[key]);
  }
  return out;
}

export interface SettingLayers {
  /** Flags and -s. */
  cli: CrawlOptions;
  spider: CrawlSettings;
  config: ConfigSettings;
  configPath: string | undefined;
}

/** The config file named by --config, else the nearest one from the working directory up. */
export async function readConfig(
  explicit: string | undefined,
): Promise<{ config: ConfigSettings; configPath: string | undefined }> {
  const configPath = explicit ?? findConfigFile();
  if (explicit !== undefined && !(await import('node:fs')).existsSync(explicit))
    throw new UsageError(`--config ${explicit}: no such file`);
  return { config: configPath ? await loadConfigFile(configPath) : {}, configPath };
}

/**
 * The options to run the crawl with: the command line's, and the config file's where neither the
 * command line nor the spider sets them (the crawl lays the spider's settings under its options).
 */
export function crawlOptionsFrom(layers: SettingLayers): CrawlOptions {
  const config = without(layers.config as Tree, layers.spider as Tree);
  return deepMerge(config, layers.cli as Tree);
}

/** Every effective setting, one a line: `perHost.delayMs  250  (spider)`. */
export function describeSettings(layers: SettingLayers): string {
  const resolved = effectiveSettings(layers.spider, crawlOptionsFrom(layers)) as Tree;
  const rows: Array<[string, string, string]> = [];
  const walk = (node: Tree, path: string[]) => {
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      if (key === 'start' || key === 'signal' || key === 'dnsLookup' || key === 'keyv') continue;
      if (isTree(value) && Object.keys(value).length > 0) walk(value, at);
      else rows.push([at.join('.'), show(value), sourceOf(layers, at)]);
    }
  };
  walk(resolved, []);
  const width = Math.max(...rows.map(([k]) => k.length));
  const valueWidth = Math.min(40, Math.max(...rows.map(([, v]) => v.length)));
  return rows
    .map(([k, value, source]) => `${k.padEnd(width)}  ${value.padEnd(valueWidth)}  ${source}`)
    .join('\n');
}

function sourceOf(layers: SettingLayers, path: string[]): string {
  if (has(layers.cli, path)) return 'command line';
  if (has(layers.spider, path)) return 'spider';
  if (has(layers.config, path)) return `config ${layers.configPath ?? ''}`.trim();
  return 'default';
}

function has(tree: object, path: string[]): boolean {
  let node: unknown = tree;
  for (const key of path) {
    if (!isTree(node) || !(key in node) || node[key] === undefined) return false;
    node = node[key];
  }
  return true;
}

function show(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'string') return redactUrl(value);
  if (value instanceof RegExp) return String(value);
  return redactUrl(JSON.stringify(value, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v)));
}
