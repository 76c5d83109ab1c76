/**
 * The package as a user gets it: the built tree is packed, installed into a new `"type":
 * "commonjs"` project (what `npm init -y` writes), and spiders there import it by name. Needs
 * `dist/` (built by `npm test`); set TRAWL_SKIP_PACK_TEST=1 to skip the pack and install.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProcessResult, runProcess } from '../helpers/run-process.js';
import { htmlRoutes, startServer, type TestServer } from '../helpers/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SKIP = Boolean(process.env.TRAWL_SKIP_PACK_TEST);
if (SKIP) console.warn('TRAWL_SKIP_PACK_TEST is set: skipping the packed-install tests');
/** `require()` of an ES module, which the CommonJS cases rely on (Node 20.19+). */
const REQUIRE_ESM = process.features.require_module === true;

type Run = ProcessResult;

/** The outer `npm test` exports npm_* settings (its prefix among them); the inner npm must not see them. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return runProcess(command, args, { cwd, env: cleanEnv(), timeoutMs });
}

const spiderBody = `defineSpider({
  name: 'fresh',
  startUrls: ['http://127.0.0.1:9/'],
  *parse(page) {
    yield { title: page.$('title').text() };
  },
})`;

const files: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'fresh', version: '1.0.0', private: true, type: 'commonjs' }),
  'spider.ts': `import { defineSpider } from 'trawl';\nexport default ${spiderBody};\n`,
  'spider.mts': `import { defineSpider } from 'trawl';\nexport default ${spiderBody};\n`,
  'spider.cts': `import { defineSpider } from 'trawl';\nexport default ${spiderBody};\n`,
  'spider.mjs': `import { defineSpider } from 'trawl';\nexport default ${spiderBody};\n`,
  'spider.js': `const { defineSpider } = require('trawl');\nmodule.exports = ${spiderBody};\n`,
  // CommonJS syntax in a .ts file: TypeScript spiders are ES modules, so this cannot load.
  'broken.ts': `const { defineSpider } = require('trawl');\nmodule.exports = ${spiderBody};\n`,
  'program.cjs': `const { crawl, MemorySink } = require('trawl');
const sink = new MemorySink();
crawl('./spider.ts', { start: [process.argv[2]] })
  .pipeTo(sink)
  .then(() => console.log(JSON.stringify(sink.items)));
`,
  'program.mjs': `import { crawl, MemorySink } from 'trawl';
const sink = new MemorySink();
await crawl('./spider.ts', { start: [process.argv[2]] }).pipeTo(sink);
console.log(JSON.stringify(sink.items));
`,
};

describe.skipIf(SKIP)('trawl installed from its tarball in a CommonJS project', () => {
  let temp: string;
  let project: string;
  let server: TestServer;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist/index.js')))
      throw new Error('dist/ is missing: run npm run build first');
    temp = await mkdtemp(join(tmpdir(), 'trawl-fresh-'));
    project = join(temp, 'project');
    server = await startServer(htmlRoutes({ '/': '<title>fresh page</title>' }));

    // dist/ is already built, so the prepare script is not run again.
    const pack = await run(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', temp],
      root,
      120_000,
    );
    expect(pack.code, pack.stderr).toBe(0);
    const tarball = join(temp, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0]!.filename);

    await mkdir(project);
    for (const [name, text] of Object.entries(files)) await writeFile(join(project, name), text);
    const install = await run(
      'npm',
      ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts'],
      project,
      200_000,
    );
    expect(install.code, install.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    if (temp) await rm(temp, { recursive: true, force: true });
  });

  const cli = (args: string[]) =>
    run(process.execPath, [join(project, 'node_modules/.bin/trawl'), ...args], project, 60_000);

  async function crawlWithCli(spider: string): Promise<unknown[]> {
    const out = `${spider}.jsonl`;
    const result = await cli(['crawl', spider, '--start', server.url, '-o', out, '--no-progress']);
    expect(result.code, result.stderr).toBe(0);
    const text = await readFile(join(project, out), 'utf8');
    return text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  }

  it.each(['spider.ts', 'spider.mts', 'spider.mjs'])('crawls %s, which imports trawl', async (spider) => {
    expect(await crawlWithCli(spider)).toEqual([{ title: 'fresh page' }]);
  });

  describe.skipIf(!REQUIRE_ESM)('with require() of ES modules', () => {
    it.each(['spider.cts', 'spider.js'])(
      'crawls %s, a CommonJS spider that requires trawl',
      async (spider) => {
        expect(await crawlWithCli(spider)).toEqual([{ title: 'fresh page' }]);
      },
    );

    it('runs crawl() from a program that requires trawl', async () => {
      const result = await run(process.execPath, ['program.cjs', server.url], project, 60_000);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual([{ title: 'fresh page' }]);
    });
  });

  it('reports a spider that cannot load in one line', async () => {
    const result = await cli(['crawl', 'broken.ts', '--start', server.url, '--no-progress']);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/cannot load spider module .*broken\.ts: require is not defined/);
  });

  it('runs crawl() from a program that imports trawl', async () => {
    const result = await run(process.execPath, ['program.mjs', server.url], project, 60_000);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([{ title: 'fresh page' }]);
  });
});
