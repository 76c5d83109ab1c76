import { describe, expect, it } from 'vitest';
import { clock, statusText } from '../../src/cli/progress.js';
import { newStats } from '../../src/pipeline/stats.js';

describe('the status line', () => {
  it('shows pages, items, the recent rate, queued, in flight, failed, retries and elapsed time', () => {
    const stats = newStats();
    Object.assign(stats, { pages: 420, items: 380, failed: 2, retries: 5 });
    Object.assign(stats.gauges, { queued: 120, inFlight: 16 });
    expect(statusText(stats, { pagesPerSecond: 85.26, elapsedMs: 65_000 }, {})).toBe(
      'pages 420 · items 380 · 85.3 pages/s · queued 120 · in flight 16 · failed 2 · retries 5 · 1:05',
    );
  });

  it('adds a bar and an ETA toward the nearest of --max-pages and --max-items', () => {
    const stats = newStats();
    Object.assign(stats, { pages: 250, items: 100 });
    const line = statusText(
      stats,
      { pagesPerSecond: 50, elapsedMs: 5_000 },
      { maxPages: 1000, maxItems: 200 },
    );
    expect(line).toMatch(/^\[█{10}░{10}\] {2}50% {2}pages 250/);
    expect(line).toMatch(/ · ETA 0:05$/);
  });

  it('writes hours once a crawl runs past an hour', () => {
    expect(clock(3_723_000)).toBe('1:02:03');
    expect(clock(59_400)).toBe('0:59');
  });
});
