import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Keyv from 'keyv';
import { ensureDir } from '../ensure-dir.js';
import { OptionError } from '../errors.js';
import type { HttpCacheOptions } from '../options.js';
import type { CrawlRequest, FetchedResponse } from '../types.js';

interface Entry {
  url: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  encoding: string;
  redirects: string[];
}

/**
 * A development cache: a spider can be re-run against stored responses without touching the site.
 * It is not an RFC 9111 cache (no revalidation); every successful GET is stored until `ttlMs`.
 */
export class HttpCache {
  constructor(
    private readonly keyv: Keyv,
    private readonly ttlMs?: number,
  ) {}

  static async open(option: string | HttpCacheOptions): Promise<HttpCache> {
    const options = typeof option === 'string' ? { uri: option } : option;
    const ttl = options.ttlMs !== undefined && Number.isFinite(options.ttlMs) ? options.ttlMs : undefined;
    if (options.keyv) return new HttpCache(options.keyv, ttl);
    const uri = options.uri ?? 'memory:';
    if (uri === 'memory:' || uri === 'memory') return new HttpCache(new Keyv({ namespace: 'trawl' }), ttl);
    if (uri.startsWith('sqlite:')) {
      let KeyvSqlite: typeof import('@keyv/sqlite').default;
      try {
        KeyvSqlite = (await import('@keyv/sqlite')).default;
      } catch {
        throw new OptionError('httpCache.uri', 'an installed @keyv/sqlite for sqlite:// URIs', uri);
      }
      return new HttpCache(new Keyv({ store: new KeyvSqlite({ uri }), namespace: 'trawl' }), ttl);
    }
    const dir = uri.startsWith('file:') ? fileURLToPath(uri) : resolve(uri);
    await ensureDir(dir);
    return new HttpCache(new Keyv({ store: new DirectoryStore(dir), namespace: 'trawl' }), ttl);
  }

  /** Only bodiless GETs are cached; the key is the canonical URL. */
  keyFor(request: CrawlRequest): string | undefined {
    return request.method === 'GET' && request.body === undefined ? `GET ${request.url}` : undefined;
  }

  async get(request: CrawlRequest): Promise<FetchedResponse | undefined> {
    const key = this.keyFor(request);
    if (!key) return undefined;
    const entry = (await this.keyv.get(key)) as Entry | undefined;
    if (!entry) return undefined;
    const body = Buffer.from(entry.body, 'base64');
    return {
      url: entry.url,
      status: entry.status,
      headers: entry.headers,
      body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
      encoding: entry.encoding,
      redirects: entry.redirects,
      attempts: 1,
      wireBytes: 0,
      elapsedMs: 0,
      fromCache: true,
    };
  }

  async set(request: CrawlRequest, response: FetchedResponse): Promise<void> {
    const key = this.keyFor(request);
    if (!key) return;
    const entry: Entry = {
      url: response.url,
      status: response.status,
      headers: response.headers,
      body: Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength).toString(
        'base64',
      ),
      encoding: response.encoding,
      redirects: response.redirects,
    };
    await this.keyv.set(key, entry, this.ttlMs);
  }

  async close(): Promise<void> {
    await this.keyv.disconnect?.();
  }
}

/** A Keyv store keeping one file per key, named by the key's hash; writes are atomic renames. */
class DirectoryStore {
  readonly opts = { dialect: 'trawl-directory' };
  constructor(private readonly dir: string) {}

  private path(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch {
      return undefined;
    }
  }

  async set(key: string, value: string): Promise<void> {
    const path = this.path(key);
    const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temp, value);
    await rename(temp, path);
  }

  async delete(key: string): Promise<boolean> {
    try {
      await rm(this.path(key));
      return true;
    } catch {
      return false;
    }
  }

  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    await ensureDir(this.dir);
  }
}
