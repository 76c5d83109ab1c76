import type { Pool, PoolClient } from 'pg';
import { OutputOpenError, SinkError, UsageError } from '../errors.js';
import { fieldKey, type Sink, type StoredItem } from './sink.js';

export interface PostgresSinkOptions {
  /**
   * Table to upsert into; created when missing as
   * (key text primary key, spider text, url text, data jsonb, scraped_at timestamptz). @default 'items'
   */
  table?: string;
  /** Item field whose value is the row key (`?key=url`). @default the item's key (spider `itemKey`, else page and position) */
  keyField?: string;
  /** Names the sink in logs and stats. */
  label?: string;
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** The columns the sink writes, and the type PostgreSQL reports for each. */
const COLUMNS: Record<string, string> = {
  key: 'text',
  spider: 'text',
  url: 'text',
  data: 'jsonb',
  scraped_at: 'timestamp with time zone',
};

/** Rows per statement: a batch larger than this goes in several statements of one transaction. */
const ROWS_PER_STATEMENT = 5_000;

/**
 * Upserts items into a PostgreSQL table by key, so a page delivered twice (a resumed or
 * distributed crawl) leaves one row per item. Each batch is one transaction of multi-row
 * `INSERT ... ON CONFLICT (key) DO UPDATE`; the pool replaces a connection the server dropped.
 */
export class PostgresSink implements Sink {
  readonly label: string;
  private pool: Pool | undefined;
  private readonly table: string;

  constructor(
    private readonly connectionString: string,
    private readonly options: PostgresSinkOptions = {},
  ) {
    const table = options.table ?? 'items';
    if (!TABLE_NAME.test(table))
      throw new UsageError(`invalid PostgreSQL table name ${JSON.stringify(table)}`);
    this.table = table
      .split('.')
      .map((part) => `"${part}"`)
      .join('.');
    this.label = options.label ?? `postgres ${table}`;
  }

  async open(): Promise<void> {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: this.connectionString, max: 2 });
    // An idle connection the server ends is dropped by the pool; the next write opens another.
    pool.on('error', () => {});
    // A connection the server ends while it is checked out reports it as an event as well as
    // failing the next query, and the pool listens only while it is idle. The listener goes on as
    // the connection is made: the server's FATAL can arrive in the same read as its first
    // ReadyForQuery, before the caller of connect() runs.
    pool.on('connect', (client) => client.on('error', () => {}));
    try {
      // Created only when missing: a role that may write rows need not be allowed to create tables.
      if (!(await this.checkShape(pool)))
        await pool.query(
          `CREATE TABLE IF NOT EXISTS ${this.table} (key text PRIMARY KEY, spider text, url text, data jsonb NOT NULL, scraped_at timestamptz NOT NULL DEFAULT now())`,
        );
    } catch (error) {
      await pool.end().catch(() => {});
      if (error instanceof OutputOpenError) throw error;
      throw new OutputOpenError(`cannot open PostgreSQL table ${this.table}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.pool = pool;
  }

  async write(batch: readonly StoredItem[]): Promise<void> {
    if (!this.pool) throw new SinkError('PostgreSQL sink is not open');
    if (batch.length === 0) return;
    const rows = this.rows(batch);
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      await client.query('BEGIN');
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT)
        await client.query(UPSERT(this.table), [JSON.stringify(rows.slice(i, i + ROWS_PER_STATEMENT))]);
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      // A connection that failed mid-transaction is not given back to the pool.
      client?.release(error as Error);
      throw new SinkError(`PostgreSQL upsert into ${this.table} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  /** One row per key: a key twice in a batch would make the upsert touch a row twice, which PostgreSQL refuses. */
  private rows(batch: readonly StoredItem[]) {
    const byKey = new Map<
      string,
      { key: string; spider: string; url: string; data: unknown; scraped_at: string }
    >();
    for (const record of batch) {
      const key = fieldKey(record, this.options.keyField);
      byKey.set(key, {
        key,
        spider: record.spider,
        url: record.url,
        data: record.item,
        scraped_at: new Date(record.scrapedAt).toISOString(),
      });
    }
    return [...byKey.values()];
  }

  /** False when the table is missing; an existing table of another shape is refused with what it has and what it needs. */
  private async checkShape(pool: Pool): Promise<boolean> {
    const { rows } = await pool.query<{ name: string; type: string; pk: boolean }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary
                      AND i.indnatts = 1 AND i.indkey[0] = a.attnum) AS pk
         FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum`,
      [this.table],
    );
    if (rows.length === 0) return false;
    const has = new Map(rows.map((r) => [r.name, r]));
    const wrong = Object.entries(COLUMNS).filter(([name, type]) => has.get(name)?.type !== type);
    if (wrong.length === 0 && has.get('key')?.pk) return true;
    const shape = rows.map((r) => `${r.name} ${r.type}${r.pk ? ' primary key' : ''}`).join(', ');
    throw new OutputOpenError(
      `PostgreSQL table ${this.table} exists with another shape (${shape}); items need (key text primary key, spider text, url text, data jsonb, scraped_at timestamptz): name another table with ?table= or migrate this one`,
    );
  }
}

/** The batch travels as one jsonb array and is unnested server-side: one round trip per statement. */
function UPSERT(table: string): string {
  return `INSERT INTO ${table} (key, spider, url, data, scraped_at)
    SELECT key, spider, url, data, scraped_at
      FROM jsonb_to_recordset($1::jsonb) AS r(key text, spider text, url text, data jsonb, scraped_at timestamptz)
    ON CONFLICT (key) DO UPDATE
      SET spider = EXCLUDED.spider, url = EXCLUDED.url, data = EXCLUDED.data, scraped_at = EXCLUDED.scraped_at`;
}
