import { openSync } from 'node:fs';
import { type DestinationStream, type Logger, pino } from 'pino';
import { redactUrl, UsageError } from '../index.js';
import type { Terminal } from './terminal.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogSetup {
  level: LogLevel;
  /** `pretty` on a terminal, `json` otherwise, unless given. */
  format?: LogFormat;
  /** Also write every record as JSON to this file. */
  file?: string;
  /** Stacks of errors are logged (otherwise only their message and code). */
  debug?: boolean;
}

export interface CliLogger {
  log: Logger;
  /** Human lines on stderr (and so a status line may be drawn below them). */
  pretty: boolean;
  /** Flushes and closes the log file, if any. */
  close(): Promise<void>;
}

/**
 * Logs on stderr, so stdout stays free for `-o -` items: human lines on a terminal (pino-pretty's
 * formatter, called in this thread and written through the terminal so the status line stays
 * whole), JSON lines otherwise. No URL in a message, a field or an error keeps its password.
 */
export async function createLogger(setup: LogSetup, terminal: Terminal): Promise<CliLogger> {
  const pretty = (setup.format ?? (terminal.tty ? 'pretty' : 'json')) === 'pretty';
  const main: DestinationStream = pretty
    ? await prettyStream(terminal, setup.debug ?? false)
    : pino.destination({ fd: 2, sync: true });
  const file = setup.file ? openLogFile(setup.file) : undefined;
  const streams = file
    ? pino.multistream([
        { stream: main, level: setup.level === 'silent' ? 'fatal' : setup.level },
        { stream: file, level: 'trace' },
      ])
    : main;
  const log = pino(
    {
      level: setup.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: (error: Error) => redactedError(error, setup.debug ?? false) },
      formatters: { log: redactFields },
      hooks: {
        logMethod(args, method) {
          const redacted = args.map((arg) => (typeof arg === 'string' ? redactUrl(arg) : arg));
          method.apply(this, redacted as Parameters<typeof method>);
        },
      },
    },
    streams,
  );
  return { log, pretty, close: () => closeFile(file) };
}

/** pino-pretty is loaded only when used: JSON logs start faster. */
async function prettyStream(terminal: Terminal, debug: boolean): Promise<DestinationStream> {
  const { prettyFactory } = await import('pino-pretty');
  const format = prettyFactory({
    colorize: terminal.tty,
    translateTime: 'SYS:HH:MM:ss',
    hideObject: true,
    messageFormat: (record, key) => humanMessage(record, key, debug),
  });
  return { write: (line: string) => terminal.write(format(line)) };
}

const RECORD_KEYS = new Set(['level', 'time', 'msg', 'err', 'pid', 'hostname']);

/** The message, then the record's fields as `key=value` (those the message already says left out). */
function humanMessage(record: Record<string, unknown>, key: string, debug: boolean): string {
  const message = String(record[key] ?? '');
  const fields: string[] = [];
  for (const [name, value] of Object.entries(record)) {
    if (RECORD_KEYS.has(name) || name === key || value === undefined) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (typeof value === 'string' && message.includes(value)) continue;
    fields.push(`${name}=${text}`);
  }
  const err = record.err as { message?: string; code?: string; stack?: string } | undefined;
  const reason = err ? ` ${err.code ? `${err.code}: ` : ''}${err.message ?? ''}` : '';
  const stack = debug && err?.stack ? `\n${err.stack}` : '';
  return `${message}${reason}${fields.length ? `  ${fields.join(' ')}` : ''}${stack}`;
}

type FileStream = ReturnType<typeof pino.destination>;

/**
 * Opened before anything runs, so a path that cannot be written fails with one line. Its directory
 * must exist: Node 20's recursive mkdir spins forever on a path under /proc.
 */
function openLogFile(path: string): FileStream {
  try {
    return pino.destination({ fd: openSync(path, 'a'), sync: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UsageError(`--log-file ${path} cannot be created: ${code}`);
  }
}

function closeFile(file: FileStream | undefined): Promise<void> {
  if (!file) return Promise.resolve();
  file.flushSync();
  file.end();
  return Promise.resolve();
}

function redactFields(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object))
    out[key] = typeof value === 'string' ? redactUrl(value) : value;
  return out;
}

/**
 * An error as pino writes it (message, code, its causes, its own fields), with the credentials of
 * every URL in it dropped; the stack only with --debug.
 */
function redactedError(error: Error, withStack: boolean): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(serialized)) {
    if (key === 'stack' && !withStack) continue;
    out[key] = typeof value === 'string' ? redactUrl(value) : value;
  }
  return out;
}
