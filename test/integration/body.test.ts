import { Readable, type Transform } from 'node:stream';
import {
  brotliCompressSync,
  createDeflate,
  createDeflateRaw,
  createGzip,
  deflateRawSync,
  deflateSync,
  gzipSync,
} from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody } from '../../src/fetcher/body.js';
import { crawlRequest, testFetcher } from '../helpers/fetcher.js';
import { startServer, type TestServer } from '../helpers/server.js';

const page = `<html><body>${'<p>Straße café ünïcödé</p>'.repeat(2000)}</body></html>`;

/** `size` zero bytes compressed in 1 MiB steps, so the test never holds the expanded bomb. */
async function bomb(stream: Transform, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  stream.on('data', (d: Buffer) => parts.push(d));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let written = 0; written < size; written += zeros.length) {
    if (!stream.write(zeros)) await new Promise((r) => stream.once('drain', r));
  }
  await new Promise((r) => stream.end(r));
  return Buffer.concat(parts);
}

let server: TestServer;
const bodies = new Map<string, { body: Buffer; encoding?: string }>();

beforeAll(async () => {
  const raw = Buffer.from(page);
  bodies.set('/plain', { body: raw });
  bodies.set('/gzip', { body: gzipSync(raw), encoding: 'gzip' });
  bodies.set('/deflate', { body: deflateSync(raw), encoding: 'deflate' });
  bodies.set('/deflate-raw', { body: deflateRawSync(raw), encoding: 'deflate' });
  bodies.set('/br', { body: brotliCompressSync(raw), encoding: 'br' });
  bodies.set('/big', { body: Buffer.alloc(3 * 1024 * 1024, 'a') });
  const size = 256 * 1024 * 1024;
  bodies.set('/bomb-gzip', { body: await bomb(createGzip({ level: 9 }), size), encoding: 'gzip' });
  bodies.set('/bomb-deflate', { body: await bomb(createDeflate({ level: 9 }), size), encoding: 'deflate' });
  bodies.set('/bomb-deflate-raw', {
    body: await bomb(createDeflateRaw({ level: 9 }), size),
    encoding: 'deflate',
  });
  bodies.set('/corrupt', { body: Buffer.from('not gzip at all, sorry'), encoding: 'gzip' });
  server = await startServer((req, res) => {
    const gz = bodies.get('/gzip')!.body;
    if (req.url === '/gzip-cut') {
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
      return res.end(gz.subarray(0, Math.floor(gz.length / 2)));
    }
    if (req.url === '/gzip-slow') {
      // Chunked, in four pieces 30 ms apart: the body is still arriving when the fetcher reads it.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': 'gzip' });
      const step = Math.ceil(gz.length / 4);
      let sent = 0;
      const timer = setInterval(() => {
        res.write(gz.subarray(sent, sent + step));
        sent += step;
        if (sent >= gz.length) {
          clearInterval(timer);
          res.end();
        }
      }, 30);
      return;
    }
    const entry = bodies.get(req.url ?? '');
    if (!entry) return res.writeHead(404).end();
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      ...(entry.encoding ? { 'content-encoding': entry.encoding } : {}),
    });
    res.end(entry.body);
  });
}, 60_000);
afterAll(() => server.close());

/** Peak RSS growth while `run` goes, sampled every 2 ms. */
async function peakGrowth(run: () => Promise<unknown>): Promise<number> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 2);
  try {
    await run();
  } finally {
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  return peak - before;
}

describe('decoding', () => {
  it.each(['/plain', '/gzip', '/deflate', '/deflate-raw', '/br'])('%s decodes to the page', async (path) => {
    const fetcher = testFetcher();
    try {
      const response = await fetcher.fetch(crawlRequest(`${server.origin}${path}`));
      expect(Buffer.from(response.body).toString('utf8')).toBe(page);
      expect(response.wireBytes).toBe(bodies.get(path)!.body.length);
    } finally {
      await fetcher.close();
    }
  });

  it('decodes alike whether the compressed page arrives at once or in slow pieces', async () => {
    const fetcher = testFetcher();
    try {
      for (const path of ['/gzip', '/gzip-slow']) {
        const response = await fetcher.fetch(crawlRequest(`${server.origin}${path}`));
        expect(Buffer.from(response.body).toString('utf8')).toBe(page);
        expect(response.wireBytes).toBe(bodies.get('/gzip')!.body.length);
      }
    } finally {
      await fetcher.close();
    }
  });

  it('a gzip body cut short gives what it holds, as browsers do', async () => {
    const fetcher = testFetcher();
    try {
      const response = await fetcher.fetch(crawlRequest(`${server.origin}/gzip-cut`));
      const text = Buffer.from(response.body).toString('utf8');
      expect(text.length).toBeGreaterThan(1000);
      expect(page.startsWith(text)).toBe(true);
    } finally {
      await fetcher.close();
    }
  });

  it('a corrupt compressed body fails with a decode error', async () => {
    const fetcher = testFetcher();
    await expect(fetcher.fetch(crawlRequest(`${server.origin}/corrupt`))).rejects.toMatchObject({
      code: 'TRAWL_ERR_DECODE',
    });
    await fetcher.close();
  });
});

describe('body cap', () => {
  it('applies to wire bytes', async () => {
    const fetcher = testFetcher({ maxBodyBytes: 1024 * 1024 });
    await expect(fetcher.fetch(crawlRequest(`${server.origin}/big`))).rejects.toMatchObject({
      code: 'TRAWL_ERR_BODY_TOO_LARGE',
      message: expect.stringContaining('wire'),
    });
    await fetcher.close();
  });

  it('applies to decoded bytes, so a small compressed body can still be refused', async () => {
    const fetcher = testFetcher({ maxBodyBytes: 10_000 });
    await expect(fetcher.fetch(crawlRequest(`${server.origin}/gzip`))).rejects.toMatchObject({
      code: 'TRAWL_ERR_BODY_TOO_LARGE',
      message: expect.stringContaining('decoded'),
    });
    await fetcher.close();
  });

  it.each(['/bomb-gzip', '/bomb-deflate', '/bomb-deflate-raw'])(
    'stops the 256 MiB %s early with bounded memory',
    async (path) => {
      const fetcher = testFetcher();
      const t0 = performance.now();
      let growth: number;
      try {
        growth = await peakGrowth(() =>
          expect(fetcher.fetch(crawlRequest(`${server.origin}${path}`))).rejects.toMatchObject({
            code: 'TRAWL_ERR_BODY_TOO_LARGE',
            message: expect.stringContaining('decoded'),
          }),
        );
      } finally {
        await fetcher.close();
      }
      // The default cap is 10 MiB; expanding the whole bomb would take 256 MiB and several seconds.
      if (process.env.TRAWL_PRINT_MEMORY) console.log(path, `peak RSS +${(growth / 1048576).toFixed(1)} MiB`);
      expect(growth).toBeLessThan(64 * 1024 * 1024);
      expect(performance.now() - t0).toBeLessThan(3000);
    },
    20_000,
  );
});

describe('readBody', () => {
  it.each(['/bomb-gzip', '/bomb-deflate', '/bomb-deflate-raw'])(
    'pulls decoded output with backpressure even when the whole %s arrives as one chunk',
    async (path) => {
      const { body, encoding } = bodies.get(path)!;
      const growth = await peakGrowth(() =>
        expect(readBody(Readable.from([body]), encoding, 10 * 1024 * 1024)).rejects.toMatchObject({
          code: 'TRAWL_ERR_BODY_TOO_LARGE',
        }),
      );
      // Inflating the chunk in one go would allocate all 256 MiB before the cap could look at it.
      expect(growth).toBeLessThan(64 * 1024 * 1024);
    },
    20_000,
  );
});
