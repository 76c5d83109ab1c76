import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SpiderInvalidError, SpiderNotFoundError } from './errors.js';

const TYPESCRIPT = /\.(?:ts|mts|cts|tsx)$/;

/** Absolute path of a spider module, or a clear error if there is no such file. */
export function resolveModulePath(path: string, cwd = process.cwd()): string {
  const absolute = isAbsolute(path) ? path : resolve(cwd, path);
  if (!existsSync(absolute)) throw new SpiderNotFoundError(path);
  return absolute;
}

/**
 * Imports a module by absolute path. TypeScript goes through tsx's scoped loader, so spiders can be
 * `.ts` without a build step and without registering a loader for the whole process.
 */
export async function importModule(absolutePath: string): Promise<Record<string, unknown>> {
  try {
    if (TYPESCRIPT.test(absolutePath)) {
      const { tsImport } = await import('tsx/esm/api');
      return (await tsImport(pathToFileURL(absolutePath).href, import.meta.url)) as Record<string, unknown>;
    }
    return (await import(pathToFileURL(absolutePath).href)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SpiderInvalidError(`cannot load spider module ${absolutePath}: ${message.split('\n')[0]}`, {
      cause: error,
    });
  }
}
