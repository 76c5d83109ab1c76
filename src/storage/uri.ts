import { UsageError } from '../errors.js';
import { CsvSink } from './csv.js';
import { JsonSink } from './json.js';
import { JsonlSink } from './jsonl.js';
import { KeyvSink } from './keyv.js';
import { PostgresSink } from './postgres.js';
import type { ItemSink } from './sink.js';
import { StdoutSink } from './stdout.js';

/**
 * Turns an output URI into a sink:
 * - `-`: JSONL on stdout; `*.jsonl` / `*.ndjson`, `*.json`, `*.csv`: files (also as `file://`)
 * - `sqlite://path.sqlite`, `redis://host:port`: a keyv store (`?namespace=items&key=url`)
 * - `postgres://user@host/db?table=items`: PostgreSQL, batched inserts into a jsonb column
 */
export function sinkFromUri(uri: string, options: { append?: boolean } = {}): ItemSink {
  if (uri === '-') return new StdoutSink();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'sqlite' || scheme === 'redis' || scheme === 'rediss') return keyvSink(uri, scheme);
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const url = new URL(uri);
    const table = url.searchParams.get('table') ?? 'items';
    url.searchParams.delete('table');
    return new PostgresSink(url.href, { table });
  }
  if (scheme && scheme !== 'file')
    throw new UsageError(
      `unsupported output ${JSON.stringify(uri)}: use a .jsonl/.json/.csv file, -, sqlite://, redis:// or postgres://`,
    );
  const path = scheme === 'file' ? new URL(uri).pathname : uri;
  const lower = path.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson'))
    return new JsonlSink(path, { append: options.append ?? false });
  // A JSON array or a CSV header cannot be continued by appending, so a resumed crawl needs JSONL.
  if (options.append && (lower.endsWith('.json') || lower.endsWith('.csv')))
    throw new UsageError(
      `output ${JSON.stringify(uri)} cannot be appended to when resuming a job; use a .jsonl file or -`,
    );
  if (lower.endsWith('.json')) return new JsonSink(path);
  if (lower.endsWith('.csv')) return new CsvSink(path);
  throw new UsageError(
    `unsupported output ${JSON.stringify(uri)}: use a .jsonl, .json or .csv file, - for stdout, or a sqlite://, redis:// or postgres:// URI`,
  );
}

function keyvSink(uri: string, scheme: string): ItemSink {
  const [base, query = ''] = uri.split('?', 2) as [string, string?];
  const params = new URLSearchParams(query);
  const namespace = params.get('namespace') ?? 'items';
  const keyField = params.get('key') ?? undefined;
  const adapter = async () => {
    try {
      if (scheme === 'sqlite') {
        const { default: KeyvSqlite } = await import('@keyv/sqlite');
        return new KeyvSqlite({ uri: base });
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
  return new KeyvSink(adapter as never, { namespace, ...(keyField ? { keyField } : {}) });
}
