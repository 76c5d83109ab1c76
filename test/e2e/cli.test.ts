import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProcessResult, runProcess } from '../helpers/run-process.js';
import { type DemoSite, startDemoSite } from '../../src/demo/site.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');

type Run = ProcessResult;

function trawl(args: string[], timeoutMs = 60_000): Promise<Run> {
  return runProcess(process.execPath, [cli, ...args], { cwd: root, timeoutMs });
}

function expectUsageError(run: Run, pattern: RegExp): void {
  expect(run.code).toBe(2);
  const lines = run.stderr.trim().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe('trawl crawl usage errors', () => {
  it('a missing spider file', async () => {
    expectUsageError(await trawl(['crawl', 'spiders/nope.ts']), /spider module not found: spiders\/nope\.ts/);
  });

  it('a module without a spider', async () => {
    expectUsageError(await trawl(['crawl', 'test/fixtures/not-a-spider.mjs']), /has no spider/);
  });

  it('a spider with a syntax error says what and where', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trawl-syntax-'));
    try {
      const ts = join(dir, 'broken.ts');
      await writeFile(ts, 'export default {\n  name: "x",\n  parse() {\n    return 1;\n\n);\n');
      expectUsageError(await trawl(['crawl', ts]), /broken\.ts: Unexpected "\)" at line 6, column 1$/);
      const mjs = join(dir, 'broken.mjs');
      await writeFile(mjs, 'export default {\n  name: "x";\n};\n');
      expectUsageError(
        await trawl(['crawl', mjs]),
        /broken\.mjs: Unexpected token ';' at line 2: name: "x";$/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an invalid start URL', async () => {
    expectUsageError(
      await trawl(['crawl', 'spiders/books.ts', '--start', 'not a url']),
      /invalid URL "not a url"/,
    );
  });

  it('an unknown flag', async () => {
    expectUsageError(await trawl(['crawl', 'spiders/books.ts', '--bogus']), /unknown option '--bogus'/);
  });

  it('--redis without --crawl-id, or with --job-dir', async () => {
    expectUsageError(
      await trawl(['crawl', 'spiders/books.ts', '--redis', 'redis://127.0.0.1:6379']),
      /--redis and --crawl-id go together/,
    );
    expectUsageError(
      await trawl([
        'crawl',
        'spiders/books.ts',
        '--redis',
        'redis://127.0.0.1:6379',
        '--crawl-id',
        'x',
        '--job-dir',
        'job',
      ]),
      /distributed: expected not set together with jobDir/,
    );
  });

  it('a flag with a bad value', async () => {
    expectUsageError(
      await trawl(['crawl', 'spiders/books.ts', '--concurrency', 'lots']),
      /expected an integer >= 1/,
    );
  });

  it('an output it cannot write', async () => {
    expectUsageError(
      await trawl(['crawl', 'spiders/books.ts', '-o', 'items.xlsx']),
      /unsupported output "items\.xlsx"/,
    );
  });
});

describe('trawl crawl', () => {
  let site: DemoSite;
  let dir: string;
  beforeAll(async () => {
    site = await startDemoSite({ books: 100 });
    dir = await mkdtemp(join(tmpdir(), 'trawl-cli-'));
  });
  afterAll(async () => {
    await site.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes items to JSONL, prints a summary and exits 0', async () => {
    const out = join(dir, 'books.jsonl');
    const run = await trawl([
      'crawl',
      'spiders/books.ts',
      '--start',
      site.url,
      '-o',
      out,
      '--workers',
      '1',
      '--no-progress',
      '--log-format',
      'pretty',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(100);
    expect(new Set(lines.map((l) => l.upc)).size).toBe(100);
    expect(run.stderr).toMatch(/items\s+100/);
    expect(run.stderr).toMatch(/pages\/s/);
  });

  it("logs a callback that throws once, with the spider's own frames and none of trawl's", async () => {
    const spider = join(dir, 'throws.mjs');
    await writeFile(
      spider,
      "export default {\n  name: 'throws',\n  *parse(page) {\n    yield { url: page.url };\n    throw new Error('price missing');\n  },\n};\n",
    );
    const failures = join(dir, 'throws-failures.jsonl');
    const run = await trawl(['crawl', spider, '--start', site.url, '--failures', failures, '--no-progress']);
    expect(run.code, run.stderr).toBe(0);
    const records = run.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; stack?: string });
    const told = records.filter((r) => JSON.stringify(r).includes('price missing'));
    expect(told).toHaveLength(1);
    expect(told[0]!.msg).toBe('callback throws.parse failed: price missing');
    expect(told[0]!.stack).toContain('throws.mjs:5');
    expect(told[0]!.stack).not.toMatch(/dist\/|<anonymous>/);
    const failed = (await readFile(failures, 'utf8')).trim().split('\n');
    expect(failed.map((l) => JSON.parse(l).error.code)).toEqual(['TRAWL_ERR_CALLBACK']);
  });

  it('keeps the credentials of a URL out of the log, the failures file and the summary', async () => {
    const failures = join(dir, 'failures.jsonl');
    const start = new URL('/catalogue/no-such-book/index.html', site.url);
    start.username = 'ann';
    start.password = 's3cret';
    const run = await trawl([
      'crawl',
      'spiders/books.ts',
      '--start',
      start.href,
      '-o',
      join(dir, 'none.jsonl'),
      '--failures',
      failures,
      '--no-progress',
      '--log-format',
      'pretty',
      '--log-level',
      'debug',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const [failure] = (await readFile(failures, 'utf8')).trim().split('\n');
    expect(JSON.parse(failure!)).toMatchObject({
      url: expect.stringContaining('/no-such-book/'),
      status: 404,
    });
    expect(failure).not.toContain('s3cret');
    expect(run.stderr).toMatch(/failed\s+1/);
    expect(run.stderr).not.toContain('s3cret');
    expect(run.stdout).not.toContain('s3cret');
  });

  it('stops at --max-pages and streams JSONL to stdout with -o -', async () => {
    const run = await trawl([
      'crawl',
      'spiders/books.ts',
      '--start',
      site.url,
      '-o',
      '-',
      '--max-pages',
      '3',
      '--no-progress',
      '--log-format',
      'pretty',
      '--log-level',
      'warn',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const items = run.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    // 3 pages: the listing and two books.
    expect(items.length).toBe(2);
    expect(run.stderr).toMatch(/stop reason\s+maxPages/);
  });
});
