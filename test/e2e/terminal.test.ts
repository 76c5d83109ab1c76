import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startDemoSite } from '../../src/demo/site.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const socket = `trawl-test-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'trawl-tty-'));

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
}

afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // no server left
  }
  rmSync(dir, { recursive: true, force: true });
});

const STATUS =
  /pages \d+ · items \d+ · [\d.]+ pages\/s · queued \d+ · in flight \d+ · failed \d+ · retries \d+ · \d+:\d\d/;
const LOG_LINE = /^\[\d\d:\d\d:\d\d\] (INFO|WARN): /;

describe.skipIf(!hasTmux())('a crawl in a real terminal (tmux)', () => {
  it('redraws one status line in place, keeps log lines whole above it, and ends with the summary', async () => {
    const site = await startDemoSite({ books: 160, latencyMs: 15 });
    try {
      const command = [
        process.execPath,
        cli,
        'crawl',
        join(root, 'spiders/books.ts'),
        '--start',
        site.url,
        '--per-host-concurrency',
        '2',
        '--max-pages',
        '170',
        '-o',
        join(dir, 'items.jsonl'),
      ].join(' ');
      tmux('new-session', '-d', '-s', 'crawl', '-x', '180', '-y', '60', `${command}; echo EXIT=$?; sleep 60`);
      const screens: string[] = [];
      const end = Date.now() + 45_000;
      while (Date.now() < end) {
        const screen = tmux('capture-pane', '-p', '-t', 'crawl');
        screens.push(screen);
        if (screen.includes('EXIT=')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const last = screens.at(-1)!;
      expect(last).toContain('EXIT=0');

      const running = screens.filter((s) => STATUS.test(s) && !s.includes('stop reason'));
      expect(running.length).toBeGreaterThanOrEqual(3);
      // Redrawn in place: every screen of the running crawl holds the status line once, on its last used row.
      for (const screen of running) {
        const rows = screen.trimEnd().split('\n');
        expect(rows.filter((r) => STATUS.test(r))).toHaveLength(1);
        expect(rows.at(-1)).toMatch(STATUS);
      }
      const pages = running.map((s) => Number(/pages (\d+) ·/.exec(s)![1]));
      expect(pages.at(-1)!).toBeGreaterThan(pages[0]!);
      expect(running.some((s) => /\[█*░*\] +\d+%/.test(s) && / · ETA \d+:\d\d/.test(s))).toBe(true);

      // Log lines whole: each starts with its time and level and never carries the status text.
      const rows = last.split('\n');
      const logs = rows.filter((r) => /^\[\d\d:\d\d:\d\d\]/.test(r));
      expect(logs.some((r) => r.includes('crawl started'))).toBe(true);
      expect(logs.some((r) => /WARN: HTTP 404 for /.test(r))).toBe(true);
      for (const row of logs) {
        expect(row).toMatch(LOG_LINE);
        expect(row).not.toMatch(/pages\/s/);
      }
      // The summary at the end, and no status line left behind.
      expect(last).toMatch(/stop reason +(maxPages|finished)/);
      expect(last).toMatch(/slowest hosts +127\.0\.0\.1:\d+ \d+ ms mean over \d+/);
      expect(last).toMatch(/top errors +TRAWL_ERR_HTTP_STATUS \d+/);
      expect(rows.filter((r) => STATUS.test(r))).toHaveLength(0);
    } finally {
      await site.close();
    }
  }, 60_000);
});
