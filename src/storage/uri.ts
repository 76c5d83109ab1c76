import { redactUrl, UsageError } from '../errors.js';
import { CsvSink } from './csv.js';
import { JsonSink } from './json.js';
import { JsonlSink } from './jsonl.js';
import { KeyvSink } from './keyv.js';
import { ParquetSink } from './parquet.js';
import { PostgresSink } from './postgres.js';
import { RedisStreamSink } from './redis-stream.js';
import type { Sink } from './sink.js';
import { StdoutSink } from './stdout.js';

const SUPPORTED =
  'use a .jsonl, .json, .csv or .parquet file, - for stdout, or a sqlite://, redis:// or postgres:// URI';

/**
 * Turns an output URI into a sink:
 * - `-`: JSONL on stdout; `*.jsonl` / `*.ndjson`, `*.json`, `*.csv` (`?fields=a,b`),
 *   `*.parquet` (`?fields=a,b&rowGroupSize=10000`): files (also as `file://`)
 * - `sqlite://path.sqlite`, `redis://host:port`: a keyv store (`?namespace=items&key=url`)
 * - `redis://host:port?stream=items&maxlen=1000000`: a Redis stream (`XADD`, trimmed with `MAXLEN ~`)
 * - `postgres://user@host/db?table=items&key=url`: PostgreSQL, batched upserts by key
 *
 * `append` (a resumed job) continues a JSONL or JSON file instead of replacing it.
 */
export function sinkFromUri(uri: string, options: { append?: boolean } = {}): Sink {
  if (uri === '-') return new StdoutSink();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if ((scheme === 'redis' || scheme === 'rediss') && /[?&]stream=/.test(uri)) return redisStreamSink(uri);
  if (scheme === 'sqlite' || scheme === 'redis' || scheme === 'rediss') return keyvSink(uri, scheme);
  if (scheme === 'postgres' || scheme === 'postgresql') return postgresSink(uri);
  if (scheme && scheme !== 'file')
    throw new UsageError(`unsupported output ${JSON.stringify(uri)}: ${SUPPORTED}`);
  const [rawPath = '', query = ''] = uri.split('?', 2) as [string, string?];
  const path = scheme === 'file' ? decodeURIComponent(new URL(rawPath).pathname) : rawPath;
  const params = new URLSearchParams(query);
  const append = options.append ?? false;
  const lower = path.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return new JsonlSink(path, { append });
  if (lower.endsWith('.json')) return new JsonSink(path, { append });
  // A CSV header or a Parquet footer cannot be continued by appending, so a resumed crawl needs JSONL or JSON.
  if (append && (lower.endsWith('.csv') || lower.endsWith('.parquet')))
    throw new UsageError(
      `output ${JSON.stringify(uri)} cannot be appended to when resuming a job; use a .jsonl or .json file or -`,
    );
  if (lower.endsWith('.csv')) return new CsvSink(path, fieldsOption(params));
  if (lower.endsWith('.parquet'))
    return new ParquetSink(path, { ...fieldsOption(params), ...rowGroupOption(params) });
  throw new UsageError(`unsupported output ${JSON.stringify(uri)}: ${SUPPORTED}`);
}

function rowGroupOption(params: URLSearchParams): { rowGroupSize?: number } {
  const size = params.get('rowGroupSize');
  if (size === null) return {};
  if (!/^[1-9]\d*$/.test(size))
    throw new UsageError(`?rowGroupSize= must be a whole number above 0, not ${JSON.stringify(size)}`);
  return { rowGroupSize: Number(size) };
}

function fieldsOption(params: URLSearchParams): { fields?: string[] } {
  const fields = params.get('fields');
  if (fields === null) return {};
  const list = fields
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  if (list.length === 0) throw new UsageError('?fields= names no field');
  return { fields: list };
}

function redisStreamSink(uri: string): Sink {
  const url = new URL(uri);
  const stream = url.searchParams.get('stream') ?? '';
  if (!stream) throw new UsageError('?stream= names no stream');
  const maxLen = url.searchParams.get('maxlen');
  if (maxLen !== null && !/^\d+$/.test(maxLen))
    throw new UsageError(
      `?maxlen= must be a whole number (0 keeps every entry), not ${JSON.stringify(maxLen)}`,
    );
  url.search = '';
  return new RedisStreamSink(url.href, {
    stream,
    label: redactUrl(uri),
    ...(maxLen !== null ? { maxLen: Number(maxLen) } : {}),
  });
}

function postgresSink(uri: string): Sink {
  const url = new URL(uri);
  const table = url.searchParams.get('table') ?? 'items';
  const keyField = url.searchParams.get('key') ?? undefined;
  url.searchParams.delete('table');
  url.searchParams.delete('key');
  return new PostgresSink(url.href, { table, label: redactUrl(uri), ...(keyField ? { keyField } : {}) });
}

function keyvSink(uri: string, scheme: string): Sink {
  const [base, query = ''] = uri.split('?', 2) as [string, string?];
  const params = new URLSearchParams(query);
  const namespace = params.get('namespace') ?? 'items';
  const keyField = params.get('key') ?? undefined;
  const adapter = async () => {
    try {
      if (scheme === 'sqlite') {
        const { default: KeyvSqlite } = await import('@keyv/sqlite');
        const store = new KeyvSqlite({ uri: base });
        // The adapter commits each item on its own; with the default rollback journal that is a
        // disk sync per item (about 40 items/s here). A write-ahead log synced at checkpoints keeps
        // every committed item through a process crash at thousands of items/s (bench/README.md).
        await store.query('PRAGMA journal_mode=WAL');
        await store.query('PRAGMA synchronous=NORMAL');
        return store;
      }
      const { default: KeyvRedis } = await import('@keyv/redis');
      return new KeyvRedis(base);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND')
        throw new UsageError(
          `output ${scheme}:// needs the optional package ${scheme === 'sqlite' ? '@keyv/sqlite' : '@keyv/redis'}`,
        );
      throw error;
    }
  };
  return new KeyvSink(adapter as never, {
    namespace,
    label: redactUrl(uri),
    ...(keyField ? { keyField } : {}),
  });
}
