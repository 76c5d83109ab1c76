import type { Item } from '../types.js';
import { TextFile } from './file.js';
import type { ItemSink } from './sink.js';

/**
 * CSV with a header row taken from the first item's keys (RFC 4180 quoting). Keys that first appear
 * later are dropped from the CSV, as the header is already written; nested values become JSON.
 */
export class CsvSink implements ItemSink {
  private readonly file: TextFile;
  private columns: string[] | undefined;

  constructor(path: string) {
    this.file = new TextFile(path);
  }

  open(signal?: AbortSignal): Promise<void> {
    return this.file.open(signal);
  }

  async write(items: Item[]): Promise<void> {
    let text = '';
    for (const item of items) {
      if (!this.columns) {
        this.columns = Object.keys(item);
        text += `${this.columns.map(csvField).join(',')}\r\n`;
      }
      text += `${this.columns.map((c) => csvField(item[c])).join(',')}\r\n`;
    }
    await this.file.write(text);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
