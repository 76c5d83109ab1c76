/**
 * The pages a job directory has fetched, with what tells whether they changed (ETag,
 * Last-Modified, a SHA-256 of the body) and when: the record a re-crawl revisits from. One JSON
 * line per visit, appended; read back last-wins and rewritten compact when it has grown well past
 * one line a page. Only validators and hashes are kept, never bodies.
 */
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CrawlRequest, PageValidators } from '../types.js';
import { writeAtomically } from './job-dir.js';
import { decodeRequest, encodeRequest } from './request-codec.js';

const PAGES = 'pages.log';
const FLUSH_LINES = 256;

interface PageLine extends PageValidators {
  /** When the page was last fetched (epoch ms). */
  at: number;
  request: string;
}

export interface PageRecord {
  request: CrawlRequest;
  validators: PageValidators;
  at: number;
}

export class PageLog {
  /** The last line of each page, by fingerprint. */
  private readonly pages = new Map<string, string>();
  private buffer: string[] = [];
  private lines = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string) {}

  private get path(): string {
    return join(this.dir, PAGES);
  }

  async open(): Promise<void> {
    if (!existsSync(this.path)) return;
    for (const line of (await readFile(this.path, 'utf8')).split('\n')) {
      const fingerprint = /^\{"fp":"([^"]+)"/.exec(line)?.[1];
      // A line cut short by a crash is not a record; the page is fetched as if new.
      if (fingerprint && line.endsWith('}')) {
        this.pages.set(fingerprint, line);
        this.lines++;
      }
    }
  }

  get size(): number {
    return this.pages.size;
  }

  /** The page was fetched with these validators. */
  visited(request: CrawlRequest, validators: PageValidators, at = Date.now()): void {
    const { revisit: _revisit, dontFilter: _dontFilter, ...plain } = request;
    const record = {
      fp: request.fingerprint,
      at,
      ...validators,
      request: encodeRequest({ ...plain, dontFilter: false }),
    };
    const line = JSON.stringify(record);
    this.pages.set(request.fingerprint, line);
    this.buffer.push(`${line}\n`);
    this.lines++;
    if (this.buffer.length >= FLUSH_LINES) void this.flush().catch(() => undefined);
  }

  /** Pages last fetched at or before `before` (epoch ms), oldest first. */
  *due(before: number): Iterable<PageRecord> {
    const records: PageRecord[] = [];
    for (const line of this.pages.values()) {
      const parsed = JSON.parse(line) as PageLine;
      if (parsed.at > before) continue;
      const request = decodeRequest(parsed.request);
      if (!request) continue;
      const { etag, lastModified, sha256 } = parsed;
      records.push({ request, at: parsed.at, validators: { etag, lastModified, sha256 } });
    }
    yield* records.sort((a, b) => a.at - b.at);
  }

  flush(): Promise<void> {
    if (this.buffer.length === 0) return this.writing;
    const text = this.buffer.join('');
    this.buffer = [];
    this.writing = this.writing.then(() => appendFile(this.path, text));
    return this.writing;
  }

  /** Writes what is buffered; rewrites the file one line a page once it holds twice that. */
  async close(): Promise<void> {
    await this.flush();
    if (this.lines > 2 * this.pages.size + 1000)
      await writeAtomically(this.path, [...this.pages.values()].map((line) => `${line}\n`).join(''));
  }
}
