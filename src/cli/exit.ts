import {
  InvalidUrlError,
  OptionError,
  OutputOpenError,
  SpiderInvalidError,
  SpiderNotFoundError,
  UsageError,
} from '../index.js';

export const EXIT = { ok: 0, fatal: 1, usage: 2, interrupted: 130 } as const;

const USAGE_ERRORS = [
  UsageError,
  OptionError,
  InvalidUrlError,
  SpiderNotFoundError,
  SpiderInvalidError,
  OutputOpenError,
];

/** A mistake in what the user asked for: one line, exit 2. */
export function isUsageError(error: unknown): boolean {
  return USAGE_ERRORS.some((cls) => error instanceof cls) && !isUnreachable(error);
}

const UNREACHABLE = /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN)\b/;

/** A database, Redis or site that did not answer: the command was right, the world was not (exit 1). */
function isUnreachable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code && UNREACHABLE.test(code)) || UNREACHABLE.test(e.message)) return true;
  }
  return false;
}
