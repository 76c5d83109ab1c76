import { join } from 'node:path';
import { TextFile } from './file.js';
import type { StoredItem } from './sink.js';

/**
 * The JSONL file a sink's items go to once it has failed for good: one line per item with its
 * key, page and time, so the lines can be loaded into the sink later (an upsert by key makes
 * loading twice harmless).
 */
export class FallbackFile {
  readonly path: string;
  private readonly file: TextFile;
  private opened: Promise<void> | undefined;

  constructor(dir: string, label: string) {
    const stamp = new Date().toISOString().replaceAll(':', '-').replace(/\..*/, '');
    const name = label.replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 80);
    this.path = join(dir, `fallback-${name}-${stamp}-${process.pid}.jsonl`);
    this.file = new TextFile(this.path, 'a');
  }

  async write(batch: readonly StoredItem[]): Promise<void> {
    this.opened ??= this.file.open();
    await this.opened;
    let text = '';
    for (const { key, url, spider, scrapedAt, item } of batch)
      text += `${JSON.stringify({ key, url, spider, scrapedAt: new Date(scrapedAt).toISOString(), item })}\n`;
    await this.file.write(text);
  }

  async close(): Promise<void> {
    if (this.opened) await this.file.close();
  }
}
