import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSite, startDemoSite } from '../../src/demo/site.js';
import { type ProcessResult, runProcess } from '../helpers/run-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const books = join(root, 'spiders/books.ts');
const dir = mkdtempSync(join(tmpdir(), 'trawl-commands-'));
let site: DemoSite;

beforeAll(async () => {
  site = await startDemoSite({ books: 40 });
});
afterAll(async () => {
  await site.close();
  rmSync(dir, { recursive: true, force: true });
});

function trawl(args: string[], cwd = root, timeoutMs = 60_000): Promise<ProcessResult> {
  return runProcess(process.execPath, [cli, ...args], { cwd, timeoutMs });
}

/** One line on stderr, no stack, the exit code. */
function expectOneLine(run: ProcessResult, code: number, pattern: RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
  expect(run.stderr).toMatch(pattern);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe('trawl --version and --help', () => {
  it('prints the version from package.json', async () => {
    const run = await trawl(['--version']);
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(version);
  });

  it.each(['crawl', 'fetch', 'parse', 'shell', 'new', 'list', 'bench', 'check', 'demo', 'status', 'reset'])(
    '%s --help shows an example',
    async (command) => {
      const run = await trawl([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`Examples?:\\n\\s+trawl ${command}`));
    },
  );
});

describe('trawl fetch', () => {
  it('prints the decoded body, and the status and final URL on stderr', async () => {
    const run = await trawl(['fetch', `${site.url}catalogue/page-2`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('<title>Page 2 | Trawl Books</title>');
    expect(run.stderr).toMatch(
      /^200 http:\/\/127\.0\.0\.1:\d+\/catalogue\/page-2\.html \(\d+ bytes, utf-8, 1 redirect, \d+ ms\)\n$/,
    );
  });

  it('--headers prints the status line, the redirect and the headers', async () => {
    const run = await trawl(['fetch', `${site.url}catalogue/page-2`, '--headers']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^HTTP 200\nURL .*page-2\.html\nRedirected-From .*page-2\n/);
    expect(run.stdout).toMatch(/^content-type: text\/html; charset=utf-8$/m);
  });

  it('-o saves the raw body', async () => {
    const file = join(dir, 'robots.txt');
    const run = await trawl(['fetch', `${site.url}robots.txt`, '-o', file]);
    expect(run.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^User-agent: \*\nAllow: \//);
    expect(run.stdout).toBe('');
  });

  it('a 404 prints the page and exits 1', async () => {
    const run = await trawl(['fetch', `${site.url}nope`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^404 /);
  });

  it('an invalid URL exits 2, a host that refuses connections exits 1, each with one line', async () => {
    expectOneLine(await trawl(['fetch', 'not-a-url']), 2, /^trawl: invalid URL "not-a-url"/);
    expectOneLine(
      await trawl(['fetch', 'http://127.0.0.1:1/', '-s', 'retries=0']),
      1,
      /^trawl: 127\.0\.0\.1:1 is not answering.*ECONNREFUSED/,
    );
  });
});

describe('trawl parse', () => {
  it('prints the items and follow-up requests of the callback', async () => {
    const run = await trawl(['parse', `${site.url}catalogue/page-2.html`, '--spider', books]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/>>> parse\(.*page-2\.html\) {2}status 200\nitems \(0\)\nrequests \(20\)\n/);
    expect(run.stdout).toMatch(/GET .*_21\/index\.html -> book/);
  });

  it('--callback runs another callback', async () => {
    const book = `${site.url}catalogue/${site.books[0]!.slug}_1/index.html`;
    const run = await trawl(['parse', book, '--spider', books, '--callback', 'book']);
    expect(run.code, run.stderr).toBe(0);
    const item = JSON.parse(/items \(1\)\n {2}(.*)\n/.exec(run.stdout)![1]!) as {
      title: string;
      upc: string;
    };
    expect(item).toMatchObject({ title: site.books[0]!.title, upc: site.books[0]!.upc });
  });

  it('--depth 2 follows the requests and prints each level', async () => {
    const run = await trawl(['parse', site.url, '--spider', books, '--depth', '2', '--max-requests', '3']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^# level 1: 1 page\(s\)/);
    expect(run.stdout).toContain('# level 2: 21 page(s), the first 3 parsed (--max-requests 3)');
    expect(run.stdout.match(/>>> book\(/g)).toHaveLength(3);
  });

  it('a missing spider module or callback is one line and exit 2', async () => {
    expectOneLine(
      await trawl(['parse', site.url, '--spider', 'nope.ts']),
      2,
      /spider module not found: nope\.ts/,
    );
    expectOneLine(
      await trawl(['parse', site.url, '--spider', books, '--callback', 'bok']),
      2,
      /--callback bok: spider books has no such callback/,
    );
  });
});

describe('trawl shell', () => {
  it('evaluates page, $, fetch(url) and the spider callbacks on the page', async () => {
    const child = spawn(process.execPath, [cli, 'shell', site.url, '--spider', books], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const prompts = () => out.split('trawl> ').length - 1;
    const send = async (line: string) => {
      const before = prompts();
      child.stdin.write(`${line}\n`);
      const end = Date.now() + 20_000;
      while (prompts() === before && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    };
    const end = Date.now() + 20_000;
    while (prompts() === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await send("$('article.product_pod').length");
    await send('parse().then((r) => r.requests.length)');
    await send(`fetch('${site.url}catalogue/page-2.html')`);
    await send('page.url');
    child.stdin.end();
    await new Promise((r) => child.on('close', r));
    expect(out).toMatch(/trawl> 20\n/);
    expect(out).toMatch(/trawl> 21\n/);
    expect(out).toContain(`'200 ${site.url}catalogue/page-2.html'`);
    expect(out).toContain(`'${site.url}catalogue/page-2.html'`);
  }, 60_000);

  it('runs piped lines in order, each after the page the line before loaded; an error page loads, a dead host is one line', async () => {
    const input = [
      `fetch('${site.url}no-such-page')`,
      'page.status',
      "fetch('http://127.0.0.1:1/')",
      `fetch('${site.url}catalogue/page-2.html')`,
      'page.url',
      '.exit',
    ].join('\n');
    const child = spawn(process.execPath, [cli, 'shell', site.url, '--spider', books], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.stdin.end(`${input}\n`);
    const code = await new Promise((r) => child.on('close', r));
    expect(code, err).toBe(0);
    const answers = out
      .split('trawl> ')
      .slice(1)
      .map((a) => a.trim());
    expect(answers.slice(0, 5)).toEqual([
      `'404 ${site.url}no-such-page'`,
      '404',
      expect.stringMatching(/^TRAWL_ERR_NETWORK: 127\.0\.0\.1:1 is not answering/),
      `'200 ${site.url}catalogue/page-2.html'`,
      `'${site.url}catalogue/page-2.html'`,
    ]);
    expect(out).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('trawl new and trawl list', () => {
  const project = join(dir, 'project');
  beforeAll(() => {
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(root, join(project, 'node_modules/trawl'));
  });

  it.each(['basic', 'rules', 'sitemap', 'api', 'login'])(
    'the %s template writes a spider that list finds and crawl runs against the demo shop',
    async (template) => {
      const made = await trawl(['new', `my-${template}`, '--template', template], project);
      expect(made.code, made.stderr).toBe(0);
      expect(existsSync(join(project, `spiders/my-${template}.ts`))).toBe(true);
      const listed = await trawl(['list', '--json'], project);
      expect(listed.code, listed.stderr).toBe(0);
      const row = listed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { name: string; file: string })
        .find((r) => r.name === `my-${template}`);
      expect(row).toEqual({
        name: `my-${template}`,
        file: `spiders/my-${template}.ts`,
        startUrls: [expect.stringContaining('127.0.0.1:8080')],
      });
      const start = (row as unknown as { startUrls: string[] }).startUrls[0]!.replace(
        'http://127.0.0.1:8080/',
        site.url,
      );
      const out = join(project, `${template}.jsonl`);
      const crawled = await trawl(
        ['crawl', `spiders/my-${template}.ts`, '--start', start, '-o', out, '--no-progress'],
        project,
      );
      expect(crawled.code, crawled.stderr).toBe(0);
      const items = readFileSync(out, 'utf8').trim().split('\n');
      expect(items.length).toBeGreaterThanOrEqual(template === 'login' ? 3 : 40);
    },
    60_000,
  );

  it('refuses to overwrite, and a bad name, with one line and exit 2', async () => {
    await trawl(['new', 'twice'], project);
    expectOneLine(
      await trawl(['new', 'twice'], project),
      2,
      /spiders\/twice\.ts exists: pick another name, or --force/,
    );
    expectOneLine(await trawl(['new', '../evil'], project), 2, /spider name "\.\.\/evil"/);
    expectOneLine(
      await trawl(['new', 'x', '--template', 'sitemp'], project),
      2,
      /argument 'sitemp' is invalid/,
    );
  });

  it('lists the example spiders with name, file and start URLs', async () => {
    const run = await trawl(['list']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^NAME +FILE +START URLS\n/);
    expect(run.stdout).toMatch(/^books +spiders\/books\.ts +https?:\/\/\S+$/m);
  });
});

describe('trawl bench', () => {
  it('crawls a local shop and prints pages/s and CPU per page', async () => {
    const run = await trawl(['bench', '--books', '100', '--json'], root, 150_000);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { pages: number; pagesPerSecond: number; cpuMsPerPage: number };
    expect(result.pages).toBe(105);
    expect(result.pagesPerSecond).toBeGreaterThan(0);
    expect(result.cpuMsPerPage).toBeGreaterThan(0);
  }, 160_000);
});

describe('mistakes: one line, exit 2 for usage, 1 for the world', () => {
  it('an unknown command or flag says what was meant', async () => {
    expectOneLine(await trawl(['crawll']), 2, /^trawl: unknown command 'crawll' \(Did you mean crawl\?\)\n$/);
    expectOneLine(
      await trawl(['crawl', books, '--max-page', '3']),
      2,
      /^trawl: unknown option '--max-page' \(Did you mean --max-pages\?\)\n$/,
    );
  });

  it('a bad number', async () => {
    expectOneLine(
      await trawl(['crawl', books, '--max-pages', '0']),
      2,
      /argument '0' is invalid\. expected an integer >= 1/,
    );
  });

  it('a log file that cannot be created', async () => {
    expectOneLine(
      await trawl(['crawl', books, '--log-file', '/proc/nowhere/x.log']),
      2,
      /--log-file \/proc\/nowhere\/x\.log cannot be created: ENOENT/,
    );
  });

  it('a database that does not answer', async () => {
    expectOneLine(
      await trawl([
        'crawl',
        books,
        '--start',
        site.url,
        '-o',
        'postgres://postgres@127.0.0.1:1/test?table=items',
      ]),
      1,
      /^trawl: .*PostgreSQL.*ECONNREFUSED/,
    );
  });

  it('a Redis that does not answer', async () => {
    expectOneLine(
      await trawl(['crawl', books, '--start', site.url, '--redis', 'redis://127.0.0.1:1', '--crawl-id', 'x']),
      1,
      /^trawl: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1/,
    );
  });

  it('a start URL whose host refuses connections', async () => {
    const run = await trawl([
      'crawl',
      books,
      '--start',
      'http://127.0.0.1:1/',
      '-s',
      'retries=0',
      '--log-format',
      'pretty',
      '--log-level',
      'error',
    ]);
    expectOneLine(run, 1, /^trawl: cannot connect to 127\.0\.0\.1:1 \(connection refused\): is the site up/);
  });

  it('--debug adds the stack', async () => {
    const run = await trawl([
      'crawl',
      books,
      '--start',
      site.url,
      '--redis',
      'redis://127.0.0.1:1',
      '--crawl-id',
      'x',
      '--debug',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\n\s+at /);
  });
});

describe('logs', () => {
  it('off a terminal: JSON lines only on stderr, stats records every --stats-interval, and --log-file', async () => {
    const slow = await startDemoSite({ books: 20, latencyMs: 40 });
    const logFile = join(dir, 'crawl.log');
    const start = new URL(slow.url);
    start.username = 'ann';
    start.password = 's3cret';
    try {
      const run = await trawl([
        'crawl',
        books,
        '--start',
        start.href,
        '--stats-interval',
        '200',
        '--log-file',
        logFile,
        '--per-host-concurrency',
        '1',
      ]);
      expect(run.code, run.stderr).toBe(0);
      const records = run.stderr
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { msg: string; pages?: number });
      expect(records.filter((r) => r.msg === 'stats').length).toBeGreaterThanOrEqual(2);
      expect(records.at(-1)).toMatchObject({
        msg: 'crawl finished',
        pages: 21,
        items: 20,
        stats: { items: 20 },
      });
      expect(readFileSync(logFile, 'utf8')).toBe(run.stderr);
      expect(run.stderr).not.toContain('s3cret');
    } finally {
      await slow.close();
    }
  }, 60_000);
});
