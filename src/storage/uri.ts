import { UsageError } from '../errors.js';
import { CsvSink } from './csv.js';
import { JsonSink } from './json.js';
import { JsonlSink } from './jsonl.js';
import type { ItemSink } from './sink.js';
import { StdoutSink } from './stdout.js';

/**
 * Turns an output URI into a sink: `-` (JSONL on stdout), `*.jsonl`, `*.json`, `*.csv`. Other
 * schemes (keyv, PostgreSQL) are added here as their sinks land.
 */
export function sinkFromUri(uri: string, options: { append?: boolean } = {}): ItemSink {
  if (uri === '-') return new StdoutSink();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme && scheme !== 'file')
    throw new UsageError(
      `unsupported output ${JSON.stringify(uri)}: scheme ${scheme}:// is not supported yet`,
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
    `unsupported output ${JSON.stringify(uri)}: use a .jsonl, .json or .csv file, or - for stdout`,
  );
}
