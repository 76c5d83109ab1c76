#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { addCrawlCommand } from './crawl-command.js';
import { addDemoCommand } from './demo-command.js';
import { addResetCommand } from './reset-command.js';
import { EXIT, isUsageError } from './run-crawl.js';
import { addStatusCommand } from './status-command.js';

export function buildProgram(): Command {
  const program = new Command('trawl')
    .description('A concurrent web-scraping framework: crawl with spider modules')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  addCrawlCommand(program);
  addDemoCommand(program);
  addStatusCommand(program);
  addResetCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
      if (error.code.startsWith('trawl.')) process.stderr.write(`${error.message}\n`);
      return error.code === 'trawl.demo' ? EXIT.fatal : EXIT.usage;
    }
    if (isUsageError(error)) {
      process.stderr.write(`trawl: ${(error as Error).message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`trawl: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.fatal;
  }
}

const invokedDirectly =
  process.argv[1] &&
  fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1]);
if (invokedDirectly) {
  const code = await main(process.argv);
  process.exitCode = code;
  // The crawl is over and its outputs are closed; a socket or file operation that still hangs
  // (a server that never answers, a pipe nobody reads) must not keep the process alive.
  setTimeout(() => process.exit(code), 500).unref();
}
