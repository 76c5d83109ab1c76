/**
 * The only code that runs in a parser thread. It imports each spider module once, by path, keeps
 * it, and runs the named callback on pages sent by the pool, one at a time, one reply each (see
 * thread-pool.ts for the messages).
 */
import { parentPort, threadId } from 'node:worker_threads';
import { importModule } from '../load-module.js';
import { spiderFromModule } from '../spider.js';
import type { ParseOutcome, ParseTask } from './protocol.js';
import { type PreparedSpider, prepareSpider, runCallback } from './run-callback.js';
import type { ThreadReply } from './thread-pool.js';
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

async function parse(task: ParseTask): Promise<ParseOutcome> {
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

function reply(message: ThreadReply<ParseOutcome>): void {
  parentPort!.postMessage(message);
}

// Between two messages the thread's event loop runs, so timers and promises a callback left
// behind settle between pages, not in the middle of the next one.
parentPort?.on('message', (task: ParseTask) => {
  parse(task).then(
    (result) => {
      try {
        reply({ ok: true, result });
      } catch (error) {
        reply({ ok: false, message: `the outcome cannot be sent: ${(error as Error).message}` });
      }
    },
    (error: Error) => reply({ ok: false, message: error.message, stack: error.stack }),
  );
});
reply({ ready: true });
