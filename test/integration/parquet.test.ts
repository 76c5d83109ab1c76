import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sinkFromUri } from '../../src/index.js';
import { records } from '../helpers/records.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trawl-parquet-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function readBack(path: string) {
  const file = await asyncBufferFromFile(path);
  return { rows: await parquetReadObjects({ file }), metadata: await parquetMetadataAsync(file) };
}

describe('the parquet sink', () => {
  it('writes row groups of rowGroupSize rows, typed from the first batch, nested values as JSON', async () => {
    const path = join(dir, 'items.parquet');
    const warnings: string[] = [];
    const sink = sinkFromUri(`${path}?rowGroupSize=250`);
    await sink.open?.({ signal: new AbortController().signal, warn: (m) => warnings.push(m) });
    const items = Array.from({ length: 1000 }, (_, i) => ({
      id: i,
      title: `book ${i}`,
      inStock: i % 2 === 0,
      tags: ['a', String(i)],
      ...(i === 700 ? { late: true } : {}),
    }));
    for (let i = 0; i < items.length; i += 100) await sink.write(records(items.slice(i, i + 100), i));
    await sink.close();
    const { rows, metadata } = await readBack(path);
    expect(metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([300, 300, 300, 100]);
    expect(rows).toHaveLength(1000);
    expect(rows[7]).toEqual({ id: 7, title: 'book 7', inStock: false, tags: '["a","7"]' });
    expect(metadata.schema.find((s) => s.name === 'tags')).toMatchObject({ converted_type: 'JSON' });
    expect(warnings).toEqual([expect.stringMatching(/field "late" first appeared after the Parquet schema/)]);
  });

  it('takes the columns from ?fields=', async () => {
    const path = join(dir, 'fields.parquet');
    const sink = sinkFromUri(`${path}?fields=title,id`);
    await sink.open?.();
    await sink.write(records([{ id: 1, title: 'x', other: 2 }]));
    await sink.close();
    expect((await readBack(path)).rows).toEqual([{ title: 'x', id: 1 }]);
  });

  it('is a valid file with no rows when nothing was scraped', async () => {
    const path = join(dir, 'empty.parquet');
    const sink = sinkFromUri(path);
    await sink.open?.();
    await sink.close();
    expect((await readBack(path)).rows).toEqual([]);
  });

  it('cannot be resumed', () => {
    expect(() => sinkFromUri(join(dir, 'x.parquet'), { append: true })).toThrow(/cannot be appended/);
  });
});
