/**
 * The only code that runs in a parser thread. It imports each spider module once, by path, keeps
 * it, and runs the named callback on pages sent by the pool.
 */
import { threadId } from 'node:worker_threads';
import { importModule } from '../load-module.js';
import { spiderFromModule } from '../spider.js';
import type { ParseOutcome, ParseTask } from './protocol.js';
import { type PreparedSpider, prepareSpider, runCallback } from './run-callback.js';
import { collectYoungGenerationBetweenPages } from './young-generation.js';

const spiders = new Map<string, Promise<PreparedSpider>>();

function loadSpider(path: string): Promise<PreparedSpider> {
  let spider = spiders.get(path);
  if (!spider) {
    spider = importModule(path).then((mod) => prepareSpider(spiderFromModule(mod, path)));
    spiders.set(path, spider);
  }
  return spider;
}

export default async function parse(task: ParseTask): Promise<ParseOutcome> {
  if (task.started) {
    Atomics.store(task.started, 0, 1);
    Atomics.notify(task.started, 0);
  }
  collectYoungGenerationBetweenPages();
  let prepared: PreparedSpider;
  try {
    prepared = await loadSpider(task.spiderPath);
  } catch (error) {
    spiders.delete(task.spiderPath);
    const err = error as Error & { code?: string };
    return {
      items: [],
      requests: [],
      logs: [],
      error: {
        code: err.code ?? 'TRAWL_ERR_SPIDER_INVALID',
        message: err.message,
      },
      threadId,
      durationMs: 0,
    };
  }
  return runCallback(prepared, task);
}
