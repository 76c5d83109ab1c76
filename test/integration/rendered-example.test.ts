import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSite, startDemoSite } from '../../src/demo/site.js';
import { crawl, type CrawlOptions, type FailureRecord, type Item } from '../../src/index.js';
import { findChromium } from '../helpers/browser.js';

const chromium = findChromium();
if (!chromium)
  console.warn('spiders/rendered.ts test skipped: no Chromium (set CHROMIUM_PATH or put chromium on PATH)');
const spider = fileURLToPath(new URL('../../spiders/rendered.ts', import.meta.url));

async function run(options: CrawlOptions) {
  const job = crawl(spider, { workers: 1, browser: { executablePath: chromium ?? 'chromium' }, ...options });
  const failures: FailureRecord[] = [];
  job.events.on('failure', (f) => failures.push(f));
  const items: Item[] = [];
  for await (const item of job) items.push(item);
  return { items, failures };
}

describe.skipIf(!chromium)('spiders/rendered.ts on the demo site', () => {
  let site: DemoSite;
  const url = (path: string) => new URL(path, site.url).href;
  beforeAll(async () => {
    site = await startDemoSite({ books: 20 });
  });
  afterAll(() => site.close());

  it('scrapes every scripted event and every entry of the infinite-scroll feed', async () => {
    const { items, failures } = await run({ start: [url('/js/')] });
    expect(failures).toEqual([]);
    const events = items.filter((i) => i.kind === 'event');
    expect(events.sort((a, b) => String(a.url).localeCompare(String(b.url)))).toEqual(
      site.events
        .map((e) => ({
          kind: 'event',
          url: url(`/js/events/${e.id}`),
          title: e.title,
          city: e.city,
          date: e.date,
        }))
        .sort((a, b) => a.url.localeCompare(b.url)),
    );
    expect(items.filter((i) => i.kind === 'entry')).toEqual(
      site.feed.map((f) => ({ kind: 'entry', id: f.id, name: f.name, score: f.score })),
    );
    // Three feed pages of ten, each loaded by one scroll; nothing past the end.
    expect(site.hits.get('/js/api/feed')).toBe(3);
    // Images are blocked by default, and so is the beacon the pages send to another host name.
    expect(site.hits.get('/js/pixel.png')).toBeUndefined();
    expect(site.hits.get('/js/api/beacon')).toBeUndefined();
  });

  it('finds none of it in the plain HTML', async () => {
    const start = [
      { url: url('/js/events/1'), callback: 'event' },
      { url: url('/js/feed'), callback: 'feed' },
    ];
    const { items, failures } = await run({ start });
    expect(failures).toEqual([]);
    expect(items).toEqual([]);
  });
});
