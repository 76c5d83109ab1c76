/**
 * The only code that runs in a parser thread. It imports each spider module once, by path, and
 * runs the named callback on pages sent by the pool.
 */
import { importModule } from '../load-module.js';
import { type Spider, spiderFromModule } from '../spider.js';
import type { ParseOutcome, ParseTask } from './protocol.js';
import { runCallback } from './run-callback.js';

const spiders = new Map<string, Promise<Spider>>();

function loadSpider(path: string): Promise<Spider> {
  let spider = spiders.get(path);
  if (!spider) {
    spider = importModule(path).then((mod) => spiderFromModule(mod, path));
    spiders.set(path, spider);
  }
  return spider;
}

export default async function parse(task: ParseTask): Promise<ParseOutcome> {
  return runCallback(await loadSpider(task.spiderPath), task);
}
