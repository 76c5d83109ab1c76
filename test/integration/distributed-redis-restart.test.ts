import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import { afterEach, describe, expect, it } from 'vitest';
import { treeSite } from '../helpers/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const worker = join(root, 'test/fixtures/distributed-worker.mjs');
const redisServer = (() => {
  try {
    return execFileSync('which', ['redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
})();
if (!redisServer) console.warn('redis-server is not on PATH: skipping the Redis restart test');

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of the test's own, with its append-only file in `dir`; resolves once it answers. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    redisServer,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes'],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      client.destroy();
      return child;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    // SIGTERM: Redis writes its append-only file out and exits, as on a restart.
    child.kill('SIGTERM');
  });
}

function runWorker(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [worker, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!redisServer)('a distributed crawl across a Redis restart', () => {
  it('three processes keep their work while Redis is down, reconnect, and finish with every page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trawl-restart-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    let redis = await startRedis(port, dir);
    closers.push(() => stop(redis));
    const site = await treeSite(511, { delayMs: 30 });
    closers.push(() => site.close());
    const out = join(dir, 'items.jsonl');
    const url = `redis://127.0.0.1:${port}`;
    const extra = JSON.stringify({ leaseMs: 15_000, outageMs: 30_000 });
    const runs = [0, 1, 2].map(() => runWorker([`${site.origin}/n/0`, url, 'restart', out, extra]));
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : []);
    const deadline = Date.now() + 30_000;
    while (lines().length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await stop(redis);
    const atStop = lines().length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    redis = await startRedis(port, dir);
    const results = await Promise.all(runs);

    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    for (const r of results) expect(JSON.parse(r.stdout.trim()).stopReason).toBe('finished');
    expect(atStop).toBeGreaterThanOrEqual(100);
    expect(atStop).toBeLessThan(511);
    const ids = lines().map((l) => (JSON.parse(l) as { id: number }).id);
    expect([...new Set(ids)].sort((a, b) => a - b)).toEqual(Array.from({ length: 511 }, (_, i) => i));
    // At least once: a page whose done report was lost with the connection may come twice, no more.
    expect(ids.length - 511).toBeLessThanOrEqual(12);
    const logs = results.map((r) => r.stderr).join('');
    expect(logs).toContain('Redis connection lost');
    expect(logs).toMatch(/Redis connection back after \d+ ms/);
  });
});
