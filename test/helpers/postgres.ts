import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL;

let serial = 0;

/**
 * A role and a table of its own for one test, so tests that revoke rights or terminate backends
 * touch nothing else: the table has the sink's shape, the role may read and write its rows only.
 */
export async function isolatedTable(): Promise<{
  name: string;
  url: string;
  admin: pg.Client;
  rows(): Promise<Array<{ key: string; data: Record<string, unknown> }>>;
  drop(): Promise<void>;
}> {
  const name = `trawl_t_${process.pid}_${Date.now().toString(36)}_${serial++}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE ROLE "${name}" LOGIN`);
  await admin.query(
    `CREATE TABLE "${name}" (key text PRIMARY KEY, spider text, url text, data jsonb NOT NULL, scraped_at timestamptz NOT NULL DEFAULT now())`,
  );
  await admin.query(`GRANT SELECT, INSERT, UPDATE ON "${name}" TO "${name}"`);
  const url = new URL(DATABASE_URL!);
  url.username = name;
  url.password = '';
  return {
    name,
    url: url.href,
    admin,
    rows: async () => (await admin.query(`SELECT key, data FROM "${name}" ORDER BY key`)).rows,
    drop: async () => {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [name]);
      await admin.query(`DROP TABLE IF EXISTS "${name}"`);
      await admin.query(`DROP ROLE IF EXISTS "${name}"`);
      await admin.end();
    },
  };
}
