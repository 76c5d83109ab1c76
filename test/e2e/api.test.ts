import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig, type ExtractorMessage } from '@microsoft/api-extractor';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// The public surface as the built declarations show it (`npm test` builds first), against the
// reports in test/api/. An intended change is recorded with `npm run api`, and reviewed in the diff.
describe('the public API', () => {
  it.each([
    ['trawl', 'api-extractor.json'],
    ['trawl/demo', 'test/api/demo.api-extractor.json'],
  ])('%s matches its checked-in report', (_, config) => {
    expect(existsSync(`${root}dist/index.d.ts`), 'dist/ is built by npm test (pretest)').toBe(true);
    const messages: string[] = [];
    const result = Extractor.invoke(ExtractorConfig.loadFileAndPrepare(`${root}${config}`), {
      localBuild: false,
      messageCallback: (message: ExtractorMessage) => {
        if (message.logLevel === 'error' || message.logLevel === 'warning')
          messages.push(`${message.messageId}: ${message.text}`);
        message.handled = true;
      },
    });
    expect(result.apiReportChanged, 'the API changed: run `npm run api` and commit test/api/').toBe(false);
    expect(messages).toEqual([]);
    expect(result.succeeded).toBe(true);
  });

  it('is what the package exports at run time, by its own name', () => {
    // Resolved as a user's program resolves it: through package.json "exports".
    const script = `
      const main = await import('trawl');
      const demo = await import('trawl/demo');
      console.log(JSON.stringify({ main: Object.keys(main), demo: Object.keys(demo) }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    const { main, demo } = JSON.parse(out.toString()) as { main: string[]; demo: string[] };
    expect(demo).toEqual(['DEMO_EXAMPLES', 'bookLastmod', 'startDemoSite']);
    expect(main).toEqual(expect.arrayContaining(['crawl', 'defineSpider', 'fetchPage', 'sinkFromUri']));
    for (const internal of [
      'Fetcher',
      'HostLimits',
      'DEFAULTS',
      'ensureDir',
      'canonicalUrl',
      'startDemoSite',
    ])
      expect(main).not.toContain(internal);
  });
});
