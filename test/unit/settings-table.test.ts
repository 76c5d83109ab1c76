import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { keyDocs, README, renderTable, settingRows, tableCells, tableIn } from '../helpers/settings-table.js';

const rows = settingRows();
const docs = keyDocs(rows);

describe('the settings table', () => {
  it('in the README is the one the schema and the TSDoc give (npm run docs:settings writes it)', () => {
    const table = tableIn(readFileSync(README, 'utf8'));
    expect(table, 'README.md has no settings table markers').toBeDefined();
    expect(tableCells(table!)).toEqual(tableCells(renderTable(rows, docs)));
  });

  it('has a row for every key at every depth, crawl-only keys marked', () => {
    const paths = rows.map((r) => r.path);
    expect(paths).toEqual(
      expect.arrayContaining(['perHost.concurrency', 'timeouts.totalMs', 'hosts[].match']),
    );
    expect(paths).toEqual(expect.arrayContaining(['adaptiveThrottle.recoverAfter', 'distributed.leaseMs']));
    expect(rows.filter((r) => r.crawlOnly && !r.path.includes('.')).map((r) => r.path)).toEqual([
      'start',
      'workers',
      'workerHeapMb',
      'itemBuffer',
      'stopGraceMs',
      'signal',
      'dnsLookup',
      'jobDir',
      'recrawl',
      'distributed',
    ]);
  });
});

describe('the TSDoc of every key', () => {
  it.each(rows.map((r) => [r.path, r] as const))(
    '%s: is documented, with the default the schema applies',
    (path, row) => {
      const doc = docs.get(path);
      expect(doc, `no interface property for ${path}`).toBeDefined();
      expect(doc!.description).not.toBe('');
      expect(doc!.default).toBe(row.default);
    },
  );
});
