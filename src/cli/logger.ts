import { type Logger, pino } from 'pino';
import { redactUrl } from '../index.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** JSON lines on stderr, so stdout stays free for `-o -` items. */
export function createLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: redactedError },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/**
 * An error as pino writes it (message and stack with those of its causes, its own fields), with
 * the credentials of every URL in it dropped: a cause or a field may hold a URL as the user gave it.
 */
function redactedError(error: Error): Record<string, unknown> {
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(serialized))
    out[key] = typeof value === 'string' ? redactUrl(value) : value;
  return out;
}
