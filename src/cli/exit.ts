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
  return USAGE_ERRORS.some((cls) => error instanceof cls);
}
