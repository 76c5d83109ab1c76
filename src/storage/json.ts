import { truncate } from 'node:fs/promises';
import { OutputOpenError } from '../errors.js';
import { readTail, TextFile } from './file.js';
import type { Sink, SinkContext, StoredItem } from './sink.js';

/**
 * A single JSON array, streamed: one item a line, the closing bracket at close, so the file is a
 * valid array after any stop that lets the crawl flush (SIGINT, SIGTERM, a limit). Appending (a
 * resumed job) first mends what a kill left: the closing bracket goes, a cut last item is dropped
 * (its page was not acknowledged, so it is crawled again), and the array goes on.
 */
export class JsonSink implements Sink {
  readonly label: string;
  private readonly file: TextFile;
  private first = true;

  constructor(
    readonly path: string,
    options: { append?: boolean } = {},
  ) {
    this.label = path;
    this.file = new TextFile(path, options.append ? 'a' : 'w', async (p) => {
      this.first = await reopenArray(p);
    });
  }

  async open(context?: SinkContext): Promise<void> {
    this.first = true;
    await this.file.open(context?.signal);
    if (this.first && !(await this.hasContent())) await this.file.write('[');
  }

  async write(batch: readonly StoredItem[]): Promise<void> {
    let text = '';
    for (const { item } of batch) {
      text += `${this.first ? '\n' : ',\n'}${JSON.stringify(item)}`;
      this.first = false;
    }
    await this.file.write(text);
  }

  async close(): Promise<void> {
    await this.file.write('\n]\n');
    await this.file.close();
  }

  private async hasContent(): Promise<boolean> {
    return (await readTail(this.path)) !== undefined;
  }
}

/**
 * Leaves an array file ending just after its last complete item (or after `[`), ready for
 * `,\n{item}`. Returns true when the array has no item yet.
 */
async function reopenArray(path: string): Promise<boolean> {
  const tail = await readTail(path);
  if (!tail) return true;
  const text = tail.buffer.toString('utf8');
  let lines = text.replace(/\s+$/, '').split('\n');
  if (lines.at(-1)?.trim() === ']') lines = lines.slice(0, -1);
  const last = lines.at(-1)?.trim().replace(/,$/, '') ?? '';
  if (last !== '[' && !parses(last)) lines = lines.slice(0, -1);
  const kept = lines.length === 0 ? '' : lines.join('\n').replace(/,\s*$/, '');
  if (tail.start === 0 && !kept.trimStart().startsWith('['))
    throw new OutputOpenError(`${path} is not a JSON array written by trawl; cannot append to it`);
  await truncate(path, tail.start + Buffer.byteLength(kept));
  return kept.trim() === '[';
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
