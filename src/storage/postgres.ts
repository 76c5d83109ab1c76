import { SinkError, UsageError } from '../errors.js';
import type { Item } from '../types.js';
import type { ItemSink } from './sink.js';

export interface PostgresSinkOptions {
  /** Table to insert into; created when missing as (id bigserial, item jsonb, created_at timestamptz). @default 'items' */
  table?: string;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** Inserts items into a PostgreSQL jsonb column, one statement per batch. */
export class PostgresSink implements ItemSink {
  private client: import('pg').Client | undefined;
  private readonly table: string;

  constructor(
    private readonly connectionString: string,
    options: PostgresSinkOptions = {},
  ) {
    const table = options.table ?? 'items';
    if (!TABLE_NAME.test(table))
      throw new UsageError(`invalid PostgreSQL table name ${JSON.stringify(table)}`);
    this.table = table
      .split('.')
      .map((part) => `"${part}"`)
      .join('.');
  }

  async open(): Promise<void> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table} (id bigserial PRIMARY KEY, item jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
      );
    } catch (error) {
      await client.end().catch(() => {});
      throw new SinkError(`cannot open PostgreSQL table ${this.table}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.client = client;
  }

  async write(items: Item[]): Promise<void> {
    if (!this.client) throw new SinkError('PostgreSQL sink is not open');
    if (items.length === 0) return;
    try {
      // One round trip per batch: the batch travels as one jsonb array and is unnested server-side.
      await this.client.query(
        `INSERT INTO ${this.table} (item) SELECT value FROM jsonb_array_elements($1::jsonb)`,
        [JSON.stringify(items)],
      );
    } catch (error) {
      throw new SinkError(`PostgreSQL insert into ${this.table} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end();
  }
}
