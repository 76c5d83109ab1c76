import { type REPLEval, type REPLServer, start as startRepl } from 'node:repl';
import type { Command } from 'commander';
import {
  type FetchedPage,
  type Page,
  pageOf,
  type ParsedPage,
  parsePage,
  type Spider,
  TrawlError,
} from '../index.js';
import { addOnePageFlags, onePage, type OnePageFlags } from './one-page.js';

/** Every 4xx and 5xx status: the shell shows an error page instead of failing on it. */
const ERROR_STATUSES = Array.from({ length: 200 }, (_, i) => 400 + i);

const HELP = `Available:
  page          the Page a callback gets (page.url, page.status, page.text, page.json(), page.follow())
  $             page.$, the cheerio document: $('h1').text()
  response      the fetched page (status, headers, body bytes, redirects)
  fetch(url)    load another page; page, $ and response follow it
  spider        the spider module's spider, when --spider is given
  <callback>()  run the spider's callback on the page: its items and requests, e.g. parse()
  help()        this text`;

/** `trawl shell [url]`: a REPL on a fetched page, as `scrapy shell`. */
export function addShellCommand(program: Command): void {
  addOnePageFlags(
    program
      .command('shell')
      .description("an interactive shell on a page: page, $, fetch(url), the spider's callbacks")
      .argument('[url]', 'the page to load first')
      .option('--spider <module>', 'the spider whose callbacks are callable and whose settings fetch uses'),
  )
    .addHelpText(
      'after',
      "\nExample:\n  trawl shell http://127.0.0.1:8080/ --spider spiders/books.ts\n  > $('h3 a').length\n  > parse()\n  > fetch('http://127.0.0.1:8080/catalogue/page-2.html')",
    )
    .action(async (url: string | undefined, flags: OnePageFlags) => {
      const one = await onePage(flags);
      const state: { response?: FetchedPage; page?: Page } = {};
      const load = async (target: string) => {
        // An error page is loaded like any other, to look at, as `scrapy shell` does.
        state.response = await one.fetch(target, { acceptStatus: ERROR_STATUSES });
        state.page = pageOf(state.response);
        bind();
        return `${state.response.status} ${state.response.url}`;
      };
      const context: Record<string, unknown> = {};
      const target = { context };
      const bind = () =>
        Object.assign(target.context, { response: state.response, page: state.page, $: state.page?.$ });
      context.fetch = load;
      context.help = () => void process.stdout.write(`${HELP}\n`);
      if (one.spider) bindCallbacks(context, one.spider, () => state.response);
      // The first page is there before the first line is read (piped input starts at once); a URL
      // that cannot be loaded ends the command before anything else is printed.
      if (url) process.stdout.write(`${await load(url)}\n`);
      process.stdout.write(`${HELP}\n`);
      const repl = startRepl({ prompt: 'trawl> ', useGlobal: false, ignoreUndefined: true });
      const lines = awaitResults(repl);
      Object.assign(repl.context, context);
      // fetch() rebinds page and $ in the REPL's own context from now on.
      target.context = repl.context;
      await new Promise<void>((resolve) => repl.on('exit', resolve));
      // `.exit` (or the end of piped input) comes in before the lines before it have run.
      await lines.settled();
    });
}

/**
 * A line whose value is a promise (fetch(), a callback) shows what it resolves to, and the next
 * line runs only after it: piped input arrives all at once, and a line after `fetch(url)` must see
 * the page it loaded. Resolves `settled` once every line read so far has run.
 */
function awaitResults(repl: REPLServer): { settled: () => Promise<void> } {
  const evaluate = repl.eval.bind(repl);
  let last = Promise.resolve();
  const wrapped: REPLEval = (code, context, file, done) => {
    last = last.then(
      () =>
        new Promise<void>((next) => {
          const finish = (error: Error | null, result: unknown) => {
            done(error, result);
            next();
          };
          evaluate(code, context, file, (error, result: unknown) => {
            if (error || !(result instanceof Promise)) return finish(error, result);
            result.then(
              (value: unknown) => finish(null, value),
              (rejected: unknown) => {
                // A page that could not be loaded is one line, as on the command line; a bug keeps its stack.
                if (rejected instanceof TrawlError) {
                  process.stdout.write(`${rejected.code}: ${rejected.message}\n`);
                  return finish(null, undefined);
                }
                finish(rejected instanceof Error ? rejected : new Error(String(rejected)), undefined);
              },
            );
          });
        }),
    );
  };
  (repl as { eval: REPLEval }).eval = wrapped;
  return { settled: () => last };
}

/** Each callback of the spider as a function of no arguments, run on the current page. */
function bindCallbacks(
  context: Record<string, unknown>,
  spider: Spider,
  current: () => FetchedPage | undefined,
): void {
  context.spider = spider;
  for (const name of Object.keys(spider)) {
    if (typeof spider[name] !== 'function' || name === 'start') continue;
    context[name] = async (): Promise<ParsedPage | string> => {
      const page = current();
      if (!page) return 'no page yet: fetch(url) first';
      return parsePage(spider, page, { callback: name });
    };
  }
}
