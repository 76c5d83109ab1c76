import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type BasicType,
  ByteWriter,
  type ColumnSource,
  ParquetWriter,
  schemaFromColumnData,
} from 'hyparquet-writer';
import { ensureDir } from '../ensure-dir.js';
import { OutputOpenError, SinkError } from '../errors.js';
import type { Sink, SinkContext, StoredItem } from './sink.js';

export interface ParquetSinkOptions {
  /** The columns, in order (`?fields=a,b`). @default every key of the first batch, in order of appearance */
  fields?: string[];
  /** Rows per row group (`?rowGroupSize=`); a row group is encoded and written once this many rows are in. @default 10_000 */
  rowGroupSize?: number;
}

type Column = { name: string; type: BasicType; data: unknown[] };

/**
 * Parquet through hyparquet-writer (snappy). The schema comes from `fields` or the keys of the
 * first batch, each column typed by its first non-null value: numbers as DOUBLE, booleans as
 * BOOLEAN, strings as STRING, objects and arrays as JSON strings. Rows are buffered and written a
 * row group at a time; the footer goes on at close, so the file is valid after any stop that lets
 * the crawl flush (SIGINT, SIGTERM, a limit). A kill -9 leaves no footer: Parquet cannot be
 * resumed, and rows count as stored once their row group is written.
 */
export class ParquetSink implements Sink {
  readonly label: string;
  private handle: FileHandle | undefined;
  private writer: ParquetWriter | undefined;
  private bytes: ByteWriter | undefined;
  private columns: Column[] | undefined;
  private buffered = 0;
  private readonly known = new Set<string>();
  private readonly warned = new Set<string>();
  private warn: (message: string) => void = () => undefined;

  constructor(
    readonly path: string,
    private readonly options: ParquetSinkOptions = {},
  ) {
    this.label = path;
  }

  async open(context?: SinkContext): Promise<void> {
    if (context) this.warn = (message) => context.warn(message);
    try {
      await ensureDir(dirname(this.path));
      this.handle = await open(this.path, 'w');
    } catch (error) {
      throw new OutputOpenError(
        `cannot create ${this.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  async write(batch: readonly StoredItem[]): Promise<void> {
    if (!this.handle) throw new SinkError(`${this.path} is not open`);
    this.columns ??= this.schemaFrom(batch);
    for (const { item } of batch) {
      for (const column of this.columns) column.data.push(this.cell(column, item[column.name]));
      if (!this.options.fields) this.noteNewKeys(item);
    }
    this.buffered += batch.length;
    if (this.buffered >= (this.options.rowGroupSize ?? 10_000)) await this.flushRowGroup();
  }

  async close(): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    try {
      if (!this.columns) this.columns = [];
      await this.flushRowGroup(true);
      await this.writer?.finish();
      await this.drain();
    } finally {
      this.handle = undefined;
      await handle.close();
    }
  }

  private schemaFrom(batch: readonly StoredItem[]): Column[] {
    const names = this.options.fields ?? [...new Set(batch.flatMap(({ item }) => Object.keys(item)))];
    for (const name of names) this.known.add(name);
    return names.map((name) => {
      const sample = batch.map(({ item }) => item[name]).find((v) => v !== undefined && v !== null);
      const type: BasicType =
        typeof sample === 'number'
          ? 'DOUBLE'
          : typeof sample === 'boolean'
            ? 'BOOLEAN'
            : typeof sample === 'object'
              ? 'JSON'
              : 'STRING';
      return { name, type, data: [] };
    });
  }

  /** A value as its column's type; one that does not fit a number or boolean column is dropped with a warning. */
  private cell(column: Column, value: unknown): unknown {
    if (value === undefined || value === null) return null;
    switch (column.type) {
      case 'DOUBLE':
        if (typeof value === 'number') return value;
        break;
      case 'BOOLEAN':
        if (typeof value === 'boolean') return value;
        break;
      case 'JSON':
        return JSON.stringify(value);
      default:
        return typeof value === 'string' ? value : JSON.stringify(value);
    }
    if (!this.warned.has(column.name)) {
      this.warned.add(column.name);
      this.warn(
        `${this.path}: a ${typeof value} in ${column.type} column "${column.name}" is written as null (warned once)`,
      );
    }
    return null;
  }

  private noteNewKeys(item: Record<string, unknown>): void {
    for (const key of Object.keys(item)) {
      if (this.known.has(key)) continue;
      this.known.add(key);
      this.warn(
        `${this.path}: field ${JSON.stringify(key)} first appeared after the Parquet schema was fixed and is not in the file; list the columns with ?fields=`,
      );
    }
  }

  private async flushRowGroup(final = false): Promise<void> {
    const columns = this.columns!;
    if (this.buffered === 0 && (!final || this.writer)) return;
    const columnData: ColumnSource[] = columns.map((c) => ({ name: c.name, data: c.data, type: c.type }));
    if (!this.writer) {
      this.bytes = new ByteWriter();
      this.writer = new ParquetWriter({
        writer: this.bytes,
        schema: schemaFromColumnData({ columnData }),
        createdBy: 'trawl',
      });
    }
    if (this.buffered > 0) await this.writer.write({ columnData, rowGroupSize: this.buffered });
    for (const column of columns) column.data = [];
    this.buffered = 0;
    await this.drain();
  }

  /** Hands what the encoder produced so far to the file. */
  private async drain(): Promise<void> {
    const bytes = this.bytes;
    if (!bytes || bytes.index === 0) return;
    await this.handle!.write(new Uint8Array(bytes.buffer, 0, bytes.index));
    bytes.index = 0;
  }
}
