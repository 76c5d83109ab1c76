/**
 * The only code that runs in a parser thread. It imports each spider module once, by path, keeps
 * it, and runs the named callback on pages sent by the pool, one at a time, one reply each (see
 * thread-pool.ts for the messages).
 */
import { parentPort, threadId } from 'node:worker_threads';
import { ItemError, SpiderInvalidError, TrawlError } from '../errors.js';
import { importModule } from '../load-module.js';
import { spiderFromModule } from '../spider.js';
import type { ParseOutcome, ParseTask } from './protocol.js';
import { failureOf, type PreparedSpider, prepareSpider, runCallback } from './run-callback.js';
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
    // The page fails with the reason, and the next page tries the import again.
    spiders.delete(task.spiderPath);
    const reason =
      error instanceof TrawlError
        ? error
        : new SpiderInvalidError(`cannot load spider module ${task.spiderPath}: ${String(error)}`, {
            cause: error,
          });
    return failed(reason);
  }
  return runCallback(prepared, task);
}

function failed(error: TrawlError): ParseOutcome {
  return { items: [], requests: [], logs: [], error: failureOf(error), threadId, durationMs: 0 };
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
        // Data that cannot be cloned (say, a DOM node in log data) is the callback's mistake, not
        // the thread's: the page fails with it and is not tried again.
        const message = `callback ${task.callback} on ${task.url} produced data that cannot be sent to the main thread: ${(error as Error).message}`;
        reply({ ok: true, result: failed(new ItemError(message, { cause: error })) });
      }
    },
    (error: Error) => reply({ ok: false, message: error.message, stack: error.stack }),
  );
});
reply({ ready: true });
