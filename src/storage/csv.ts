import { stringify } from 'csv-stringify/sync';
import { TextFile } from './file.js';
import type { Sink, SinkContext, StoredItem } from './sink.js';

export interface CsvSinkOptions {
  /** The columns, in order (`?fields=a,b`). @default every key of the first batch of items, in order of appearance */
  fields?: string[];
}

/**
 * CSV (RFC 4180: quoted where needed, CRLF line ends) through csv-stringify. The header is
 * `fields`, or the keys of the whole first batch; a key that first appears after the header was
 * written cannot get a column, so it is named in a warning (once per key) rather than dropped
 * silently. Nested values are written as JSON.
 */
export class CsvSink implements Sink {
  readonly label: string;
  private readonly file: TextFile;
  private columns: string[] | undefined;
  private readonly known = new Set<string>();
  private warn: (message: string) => void = () => undefined;

  constructor(
    readonly path: string,
    private readonly options: CsvSinkOptions = {},
  ) {
    this.label = path;
    this.file = new TextFile(path);
    if (options.fields) this.columns = [...options.fields];
  }

  open(context?: SinkContext): Promise<void> {
    if (context) this.warn = (message) => context.warn(message);
    return this.file.open(context?.signal);
  }

  async write(batch: readonly StoredItem[]): Promise<void> {
    let header = false;
    if (!this.columns) {
      this.columns = keysOf(batch);
      header = true;
    } else if (this.known.size === 0 && this.options.fields) {
      header = true;
    }
    if (header) for (const column of this.columns) this.known.add(column);
    if (!this.options.fields) this.warnOfNewKeys(batch);
    const text = stringify(
      batch.map(({ item }) => item),
      {
        header,
        columns: this.columns,
        record_delimiter: 'windows',
        // RFC 4180 quotes a field holding any line break; csv-stringify alone quotes only CRLF.
        quoted_match: /[\r\n]/,
        cast: { object: (value) => JSON.stringify(value), boolean: (value) => String(value) },
      },
    );
    await this.file.write(text);
  }

  close(): Promise<void> {
    return this.file.close();
  }

  private warnOfNewKeys(batch: readonly StoredItem[]): void {
    for (const { item } of batch)
      for (const key of Object.keys(item)) {
        if (this.known.has(key)) continue;
        this.known.add(key);
        this.warn(
          `${this.path}: field ${JSON.stringify(key)} first appeared after the CSV header was written and is not in the file; list the columns with ?fields=`,
        );
      }
  }
}

function keysOf(batch: readonly StoredItem[]): string[] {
  const keys = new Set<string>();
  for (const { item } of batch) for (const key of Object.keys(item)) keys.add(key);
  return [...keys];
}
