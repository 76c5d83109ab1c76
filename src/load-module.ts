import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SpiderInvalidError, SpiderNotFoundError } from './errors.js';

const TYPESCRIPT = /\.(?:ts|mts|cts|tsx)$/;

/** Prefix of the tsx namespaces spiders are imported in; the format hook acts only inside them. */
const NAMESPACE = 'trawl-spider-';

/**
 * A resolve hook that gives `.ts` and `.tsx` files the ES module format whatever the nearest
 * package.json says. In a `"type": "commonjs"` project tsx would otherwise compile a spider to
 * CommonJS, and answer its `require('trawl')` by transpiling trawl and its dependencies into a
 * second copy that breaks (undici's classes check symbols from the first). As ES modules, spiders
 * and their TypeScript imports load like `.mjs` ones. Registered before tsx's hooks, it is the
 * next hook tsx's resolve calls, and it acts only on imports made here or inside a spider
 * namespace; `.cts` files and dependencies keep their format.
 */
const ESM_FORMAT_HOOK = `
let importer;
export function initialize(data) {
  importer = data.importer;
}
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const parent = context.parentURL ?? '';
  if (parent !== importer && !parent.includes('tsx-namespace=${NAMESPACE}')) return resolved;
  if (!resolved.url.startsWith('file:')) return resolved;
  const { pathname } = new URL(resolved.url);
  if (!/\\.tsx?$/.test(pathname) || pathname.includes('/node_modules/')) return resolved;
  return { ...resolved, format: 'module' };
}
`;

let formatHookRegistered = false;

/** Absolute path of a spider module (a relative one is taken from `cwd`), or a clear error. */
export function resolveModulePath(path: string, cwd = process.cwd()): string {
  const absolute = isAbsolute(path) ? path : resolve(cwd, path);
  if (!existsSync(absolute))
    throw new SpiderNotFoundError(absolute === path ? path : `${path} (${absolute})`);
  return absolute;
}

/**
 * Imports a module by absolute path. TypeScript goes through tsx's scoped loader, so spiders can be
 * `.ts` without a build step and without registering a loader for the whole process.
 *
 * Only tsx's ESM hooks are registered (tsImport would add its CommonJS ones too), so the `require`
 * calls of a `.cts` spider are Node's own: `require('trawl')` gets the running instance through the
 * package's `default` export condition (require of an ES module, Node 20.19+), while requiring
 * TypeScript from a `.cts` file is not supported.
 */
export async function importModule(absolutePath: string): Promise<Record<string, unknown>> {
  try {
    if (TYPESCRIPT.test(absolutePath)) {
      const { register: registerTsx } = await import('tsx/esm/api');
      if (!formatHookRegistered) {
        register(`data:text/javascript,${encodeURIComponent(ESM_FORMAT_HOOK)}`, {
          data: { importer: import.meta.url },
        });
        formatHookRegistered = true;
      }
      // A fresh namespace per import, as tsImport does: each crawl evaluates the current file.
      const tsx = registerTsx({ namespace: `${NAMESPACE}${randomUUID()}` });
      return (await tsx.import(pathToFileURL(absolutePath).href, import.meta.url)) as Record<string, unknown>;
    }
    return (await import(pathToFileURL(absolutePath).href)) as Record<string, unknown>;
  } catch (error) {
    throw new SpiderInvalidError(
      `cannot load spider module ${absolutePath}: ${whyNotLoaded(error, absolutePath)}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * One line that says what is wrong and where. esbuild (TypeScript) puts the place on the line
 * after "Transform failed with 1 error:"; V8's SyntaxError of an ES module carries none, so the
 * file is checked again with `node --check`, which prints the line (only on this error path).
 */
function whyNotLoaded(error: unknown, path: string): string {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n');
  const place = /^(.+):(\d+):(\d+): ERROR: (.*)$/.exec(lines[1] ?? '');
  if (/^Transform failed with \d+ errors?:$/.test(lines[0]!) && place) {
    const [, file, line, column, text] = place;
    // esbuild counts columns from 0, editors from 1.
    return `${text} at ${file === path ? '' : `${file} `}line ${line}, column ${Number(column) + 1}`;
  }
  if (!(error instanceof SyntaxError) || TYPESCRIPT.test(path)) return lines[0]!;
  const check = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  const [where, code] = (check.stderr ?? '').split('\n');
  const line = where?.startsWith(path) || where?.startsWith('file:') ? where.split(':').pop() : undefined;
  return line && /^\d+$/.test(line) ? `${lines[0]} at line ${line}: ${code?.trim()}` : lines[0]!;
}
