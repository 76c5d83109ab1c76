#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { redactUrl } from '../index.js';
import { addBenchCommand } from './bench-command.js';
import { addCheckCommand } from './check-command.js';
import { addCrawlCommand } from './crawl-command.js';
import { addDemoCommand } from './demo-command.js';
import { EXIT, isUsageError } from './exit.js';
import { addFetchCommand } from './fetch-command.js';
import { addListCommand } from './list-command.js';
import { addNewCommand } from './new-command.js';
import { addParseCommand } from './parse-command.js';
import { addResetCommand } from './reset-command.js';
import { addShellCommand } from './shell-command.js';
import { addStatusCommand } from './status-command.js';

/** Every command, one line each; each adds itself (with its flags, help and action) to the program. */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  addCrawlCommand,
  addFetchCommand,
  addParseCommand,
  addShellCommand,
  addNewCommand,
  addListCommand,
  addBenchCommand,
  addCheckCommand,
  addDemoCommand,
  addStatusCommand,
  addResetCommand,
];

function version(): string {
  const path = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('trawl')
    .description('A concurrent web-scraping framework: crawl with spider modules')
    .version(version(), '-V, --version')
    .showSuggestionAfterError(true)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeErr: (text) => process.stderr.write(text),
      // One line: commander's message and its "Did you mean" joined.
      outputError: (text, write) =>
        write(
          `trawl: ${text
            .replace(/^error: /, '')
            .replace(/\n(?=.)/g, ' ')
            .trimEnd()}\n`,
        ),
    });
  for (const add of COMMANDS) add(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
      )
        return EXIT.ok;
      // commander has written its own message through outputError; ours are written here.
      if (!error.code.startsWith('trawl.')) return EXIT.usage;
      process.stderr.write(`trawl: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`trawl: ${redactUrl(message)}\n`);
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${redactUrl(error.stack)}\n`);
    return isUsageError(error) ? EXIT.usage : EXIT.fatal;
  }
}

const invokedDirectly = process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1]);
if (invokedDirectly) {
  const code = await main(process.argv);
  process.exitCode = code;
  // The crawl is over and its outputs are closed; a socket or file operation that still hangs
  // (a server that never answers, a pipe nobody reads) must not keep the process alive.
  setTimeout(() => process.exit(code), 500).unref();
}
