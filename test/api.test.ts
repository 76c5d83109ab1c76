import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig, type ExtractorMessage } from '@microsoft/api-extractor';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

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
});
