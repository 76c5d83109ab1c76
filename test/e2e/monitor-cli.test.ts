import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrape } from '../helpers/prometheus.js';
import { runProcess } from '../helpers/run-process.js';
import { type TestServer, treeSite } from '../helpers/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const treeSpider = 'test/fixtures/tree-spider.ts';

describe('trawl crawl --metrics --dashboard --report', () => {
  let site: TestServer;
  let dir: string;
  beforeAll(async () => {
    site = await treeSite(60, { delayMs: 40 });
    dir = await mkdtemp(join(tmpdir(), 'trawl-monitor-'));
  });
  afterAll(async () => {
    await site.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves metrics and the dashboard while crawling and writes the report at the end', async () => {
    const report = join(dir, 'report.html');
    const statsFile = join(dir, 'stats.json');
    const args = [cli, 'crawl', treeSpider, '--start', `${site.origin}/n/0`, '--per-host-concurrency', '1'];
    args.push(
      '--metrics',
      '0',
      '--dashboard',
      '0',
      '--report',
      report,
      '--stats-file',
      statsFile,
      '--no-progress',
    );
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const urls = new Promise<{ metrics: string; dashboard: string }>((resolve) => {
      const found: Record<string, string> = {};
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        for (const line of stderr.split('\n')) {
          const match = /"url":"([^"]+)".*"msg":"(metrics|dashboard) served"/.exec(line);
          if (match) found[match[2]!] = match[1]!;
        }
        if (found.metrics && found.dashboard) resolve({ metrics: found.metrics, dashboard: found.dashboard });
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const { metrics, dashboard } = await urls;
    const during = await scrape(metrics);
    expect(during.has('trawl_pages_total')).toBe(true);
    const page = await fetch(dashboard);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('assets/uPlot.iife.min.js');
    const state = (await (await fetch(new URL('state.json', dashboard))).json()) as { finished: boolean };
    expect(state.finished).toBe(false);
    expect(await exited, stderr).toBe(0);

    const stats = JSON.parse(await readFile(statsFile, 'utf8')) as { pages: number };
    const html = await readFile(report, 'utf8');
    const embedded = /<script type="application\/json" id="trawl-state">(.*?)<\/script>/s.exec(html);
    const final = JSON.parse(embedded![1]!) as { finished: boolean; stats: { pages: number } };
    expect(final.finished).toBe(true);
    expect(final.stats.pages).toBe(stats.pages);
    expect(stderr).toMatch(/"msg":"report written"/);
  });

  it('rejects an address that is not HOST:PORT as a usage error', async () => {
    const run = await runProcess(process.execPath, [cli, 'crawl', treeSpider, '--metrics', 'localhost'], {
      cwd: root,
      timeoutMs: 30_000,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--metrics address "localhost" is not HOST:PORT/);
  });
});
