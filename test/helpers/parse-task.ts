import { fileURLToPath } from 'node:url';
import type { ParseTask } from '../../src/parser/protocol.js';

/** Absolute path of a spider fixture under test/fixtures/spiders. */
export function fixtureSpider(file: string): string {
  return fileURLToPath(new URL(`../fixtures/spiders/${file}`, import.meta.url));
}

export interface TaskInit {
  spiderPath?: string;
  callback?: string;
  url?: string;
  body?: string | Uint8Array;
  contentType?: string;
  encoding?: string;
  userData?: Record<string, unknown>;
  depth?: number;
}

/** A page as the engine hands it to the pool, built without a fetch. */
export function parseTask(init: TaskInit = {}): ParseTask {
  const url = init.url ?? 'http://127.0.0.1:9/page';
  const callback = init.callback ?? 'parse';
  const body =
    typeof init.body === 'string' || init.body === undefined
      ? new TextEncoder().encode(init.body ?? '<title>t</title>')
      : init.body;
  return {
    spiderPath: init.spiderPath ?? '',
    callback,
    request: {
      url,
      method: 'GET',
      callback,
      depth: init.depth ?? 0,
      userData: init.userData ?? {},
    },
    url,
    status: 200,
    headers: { 'content-type': init.contentType ?? 'text/html; charset=utf-8' },
    encoding: init.encoding ?? 'utf-8',
    body,
  };
}
