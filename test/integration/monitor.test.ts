import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crawl, MemorySink, type Sink, startMonitor } from '../../src/index.js';
import { artifactPath, findChromium } from '../helpers/browser.js';
import { parseExposition, scrape } from '../helpers/prometheus.js';
import { type TestServer, treeSite } from '../helpers/server.js';

const treeSpider = fileURLToPath(new URL('../fixtures/tree-spider.ts', import.meta.url));
const until = async (check: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('Prometheus metrics', () => {
  let sites: TestServer[];
  beforeAll(async () => {
    // 60 pages each; the leaves link past the end, so some answers are 404s.
    sites = await Promise.all([0, 1, 2, 3].map(() => treeSite(60, { delayMs: 15 })));
  });
  afterAll(() => Promise.all(sites.map((s) => s.close())));

  it('serves counters, gauges and per-host histograms that match the crawl, during and after it', async () => {
    const job = crawl(treeSpider, {
      start: [`${sites[0]!.origin}/n/0`],
      workers: 1,
      perHost: { concurrency: 2 },
    });
    const monitor = await startMonitor(job, { metrics: '127.0.0.1:0', labels: { process: 'test-1' } });
    expect(monitor.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const done = job.pipeTo(new MemorySink());
    await until(() => job.stats.pages >= 10);
    const during = await scrape(monitor.metricsUrl!);
    expect(during.types.get('trawl_pages_total')).toBe('counter');
    expect(during.types.get('trawl_response_seconds')).toBe('histogram');
    expect(during.value('trawl_pages_total')).toBeGreaterThanOrEqual(10);
    expect(during.has('trawl_queue_depth')).toBe(true);
    expect(during.has('trawl_in_flight')).toBe(true);
    expect(during.has('trawl_parse_backlog')).toBe(true);
    const stats = await done;
    const after = await scrape(monitor.metricsUrl!);
    await monitor.close();

    expect(after.value('trawl_pages_total')).toBe(stats.pages);
    expect(after.value('trawl_pages_total')).toBeGreaterThan(during.value('trawl_pages_total'));
    expect(after.value('trawl_items_total')).toBe(stats.items);
    expect(after.value('trawl_requests_total')).toBe(stats.requests);
    expect(after.value('trawl_responses_total', { class: '2xx' })).toBe(stats.responses['2xx']);
    expect(after.value('trawl_responses_total', { class: '4xx' })).toBe(stats.responses['4xx']);
    expect(stats.responses['4xx']).toBeGreaterThan(0);
    expect(after.value('trawl_errors_total', { code: 'TRAWL_ERR_HTTP_STATUS' })).toBe(
      stats.errors.TRAWL_ERR_HTTP_STATUS,
    );
    expect(after.value('trawl_failed_total')).toBe(stats.failed);
    // Every answer, 404s included, was timed under its host's label.
    const host = new URL(sites[0]!.url).host;
    expect(after.value('trawl_response_seconds_count', { host })).toBe(stats.requests);
    // Sink writes are timed; the process label is on every series; Node process metrics are there.
    expect(after.value('trawl_sink_write_seconds_count', { sink: 'memory' })).toBeGreaterThan(0);
    expect(after.value('trawl_sink_items_total', { sink: 'memory' })).toBe(stats.items);
    expect(after.samples.every((s) => s.labels.process === 'test-1')).toBe(true);
    expect(after.has('trawl_process_cpu_user_seconds_total')).toBe(true);
    expect(after.value('trawl_queue_depth')).toBe(0);
  });

  it('keeps the host label set bounded: hosts past the limit are counted as "other"', async () => {
    const job = crawl(treeSpider, { start: sites.map((s) => `${s.origin}/n/0`), workers: 1, maxDepth: 2 });
    const monitor = await startMonitor(job, { metrics: '0', maxHostLabels: 2, processMetrics: false });
    const stats = await job.pipeTo(new MemorySink());
    const metrics = await scrape(monitor.metricsUrl!);
    await monitor.close();
    const hosts = metrics.labelValues('trawl_response_seconds_count', 'host');
    expect(hosts).toHaveLength(3);
    expect(hosts).toContain('other');
    expect(metrics.value('trawl_response_seconds_count')).toBe(stats.requests);
    expect(metrics.has('trawl_process_cpu_user_seconds_total')).toBe(false);
  });

  it('counts sink writes that failed and the items that went to the fallback file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trawl-monitor-sink-'));
    const failing: Sink = {
      label: 'broken',
      write: () => Promise.reject(new Error('disk full')),
      close: () => Promise.resolve(),
    };
    const job = crawl(treeSpider, {
      start: [`${sites[1]!.origin}/n/0`],
      workers: 1,
      maxPages: 3,
      sinks: { giveUpAfterMs: 200, retryBaseMs: 20, fallbackDir: dir },
    });
    const monitor = await startMonitor(job, { metrics: '0', processMetrics: false });
    const stats = await job.pipeTo(failing);
    const metrics = await scrape(monitor.metricsUrl!);
    await monitor.close();
    await rm(dir, { recursive: true, force: true });
    expect(metrics.value('trawl_sink_failures_total', { sink: 'broken' })).toBe(stats.sinks[0]!.failures);
    expect(stats.sinks[0]!.failures).toBeGreaterThanOrEqual(2);
    expect(metrics.value('trawl_sink_fallback_items_total', { sink: 'broken' })).toBe(stats.items);
    expect(metrics.value('trawl_sink_items_total', { sink: 'broken' })).toBe(0);
  });

  it('refuses an address that is not HOST:PORT with a clear error', async () => {
    const job = crawl(treeSpider, { start: [`${sites[1]!.origin}/n/0`] });
    await expect(startMonitor(job, { metrics: 'localhost' })).rejects.toThrow(/HOST:PORT/);
    const taken = await startMonitor(job, { metrics: '0', processMetrics: false });
    const port = new URL(taken.metricsUrl!).port;
    await expect(startMonitor(job, { dashboard: `127.0.0.1:${port}` })).rejects.toThrow(
      /cannot listen.*EADDRINUSE/,
    );
    await taken.close();
  });

  it('parses exposition text the way a scraper does', () => {
    const text = '# TYPE a counter\na{x="1",y="q\\"uote"} 3\na{x="2"} 4 1700000000\nb +Inf\n';
    const parsed = parseExposition(text);
    expect(parsed.value('a')).toBe(7);
    expect(parsed.value('a', { y: 'q"uote' })).toBe(3);
    expect(parsed.value('b')).toBe(Infinity);
  });
});

const chromium = findChromium();
let playwright: typeof import('playwright-core') | undefined;
try {
  playwright = await import('playwright-core');
} catch {
  playwright = undefined;
}
const why = !chromium
  ? 'no Chromium found (set CHROMIUM_PATH)'
  : !playwright
    ? 'playwright-core not installed'
    : '';
if (why) console.warn(`skipping dashboard browser tests: ${why}`);

describe.skipIf(Boolean(why))('the dashboard and the report in Chromium', () => {
  let site: TestServer;
  let browser: import('playwright-core').Browser;
  beforeAll(async () => {
    site = await treeSite(80, { delayMs: 25 });
    browser = await playwright!.chromium.launch({ executablePath: chromium!, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  const tile = (page: import('playwright-core').Page, key: string) =>
    page
      .locator(`[data-stat="${key}"]`)
      .textContent()
      .then((t) => Number((t ?? '').replace(/,/g, '')));

  it('shows the live crawl and, once it ends, the same numbers as the stats', async () => {
    const job = crawl(treeSpider, { start: [`${site.origin}/n/0`], workers: 1, perHost: { concurrency: 2 } });
    const monitor = await startMonitor(job, { dashboard: '0', metrics: '0', title: 'tree crawl' });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const done = job.pipeTo(new MemorySink());
    await page.goto(monitor.dashboardUrl!);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('#title').textContent()).toBe('tree crawl');
    await until(() => job.stats.pages >= 20);
    await page.waitForFunction('Number(document.querySelector(\'[data-stat="pages"]\')?.textContent) >= 20');
    expect(await page.locator('#status').textContent()).toBe('running');
    const stats = await done;
    // The page keeps polling until it sees the crawl end, then shows the final numbers.
    await page.waitForFunction("document.querySelector('#status')?.textContent === 'finished: finished'");
    expect(await tile(page, 'pages')).toBe(stats.pages);
    expect(await tile(page, 'items')).toBe(stats.items);
    expect(await tile(page, 'failed')).toBe(stats.failed);
    expect(Number(await page.locator('[data-status="4xx"]').textContent())).toBe(stats.responses['4xx']);
    expect(await page.locator('#hosts tbody tr').count()).toBe(1);
    expect(await page.locator('#hosts tbody tr td').first().textContent()).toBe(new URL(site.url).host);
    expect(await page.locator('#failures tbody tr').count()).toBe(Math.min(50, stats.failed));
    await expect(page.locator('#rate-chart canvas').count()).resolves.toBeGreaterThan(0);
    await page.screenshot({ path: artifactPath('dashboard.png'), fullPage: true });
    await monitor.close();
    await page.close();
  });

  it('writes a self-contained report that opens from disk with the final numbers', async () => {
    const report = join(tmpdir(), `trawl-report-${process.pid}.html`);
    const job = crawl(treeSpider, { start: [`${site.origin}/n/0`], workers: 1 });
    const monitor = await startMonitor(job, { report, title: 'tree report' });
    const stats = await job.pipeTo(new MemorySink());
    expect(await monitor.close()).toBe(report);
    const html = await readFile(report, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    // Nothing but the file itself may load: the report must work offline.
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${report}`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    expect(await page.locator('#status').textContent()).toBe('finished: finished');
    expect(await tile(page, 'pages')).toBe(stats.pages);
    expect(await tile(page, 'requests')).toBe(stats.requests);
    expect(Number(await page.locator('[data-status="2xx"]').textContent())).toBe(stats.responses['2xx']);
    await page.screenshot({ path: artifactPath('report.png'), fullPage: true });
    await page.close();
  });
});
