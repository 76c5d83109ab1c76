import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcess } from '../helpers/run-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const spider = join(root, 'spiders/books.ts');
const dir = mkdtempSync(join(tmpdir(), 'trawl-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function trawl(args: string[], cwd: string) {
  return runProcess(process.execPath, [cli, ...args], { cwd, timeoutMs: 60_000 });
}

/** `key value source` rows of --print-settings, by key. */
function settingsTable(stdout: string): Map<string, { value: string; source: string }> {
  const rows = new Map<string, { value: string; source: string }>();
  for (const line of stdout.trim().split('\n')) {
    const [key, value, ...source] = line.split(/\s{2,}/);
    rows.set(key!, { value: value!, source: source.join(' ') });
  }
  return rows;
}

describe('settings from a config file, the spider and the command line', () => {
  it('finds trawl.config.* upward and layers CLI > spider > config file > defaults', async () => {
    const project = join(dir, 'project');
    mkdirSync(join(project, 'deep/er'), { recursive: true });
    writeFileSync(
      join(project, 'trawl.config.ts'),
      `const config: Record<string, unknown> = { perHost: { concurrency: 3, delayMs: 50 }, retries: 1, userAgent: 'cfg' };
export default config;\n`,
    );
    const run = await trawl(
      [
        'crawl',
        spider,
        '--print-settings',
        '-s',
        'retries=5',
        '-s',
        'timeouts.connectMs=2000',
        '--concurrency',
        '4',
      ],
      join(project, 'deep/er'),
    );
    expect(run.code, run.stderr).toBe(0);
    const rows = settingsTable(run.stdout);
    const config = `config ${join(project, 'trawl.config.ts')}`;
    expect(rows.get('concurrency')).toEqual({ value: '4', source: 'command line' });
    expect(rows.get('retries')).toEqual({ value: '5', source: 'command line' });
    expect(rows.get('timeouts.connectMs')).toEqual({ value: '2000', source: 'command line' });
    // books.ts declares perHost.concurrency 8: the spider wins over the config file.
    expect(rows.get('perHost.concurrency')).toEqual({ value: '8', source: 'spider' });
    expect(rows.get('perHost.delayMs')).toEqual({ value: '50', source: config });
    expect(rows.get('userAgent')).toEqual({ value: 'cfg', source: config });
    expect(rows.get('maxRedirects')).toEqual({ value: '10', source: 'default' });
  });

  it('an unknown key in the config file is one line naming the file and the path, exit 2', async () => {
    const project = join(dir, 'typo');
    mkdirSync(project);
    writeFileSync(join(project, 'trawl.config.json'), JSON.stringify({ perHost: { concurency: 3 } }));
    const run = await trawl(['crawl', spider], project);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `trawl: config file ${join(project, 'trawl.config.json')}: option perHost.concurency: unknown setting, did you mean concurrency?\n`,
    );
  });

  it('-s with an unknown path or a bad value is a usage error', async () => {
    const unknown = await trawl(['crawl', spider, '-s', 'perHost.delay=5'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('trawl: -s: option perHost.delay: unknown setting, did you mean delayMs?\n');
    const bad = await trawl(['crawl', spider, '-s', 'retries=lots'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('trawl: -s: option retries: expected an integer >= 0, received "lots"\n');
  });
});
