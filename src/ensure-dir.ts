import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * `mkdir -p`, one level at a time. Node 20's recursive mkdir retries forever, at full CPU, when the
 * OS answers ENOENT for a directory whose parent exists (any path under /proc): here that is an error.
 */
export async function ensureDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    const found = await stat(d).then(
      (s) => s,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      },
    );
    if (found) {
      if (!found.isDirectory())
        throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR', path: d });
      break;
    }
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse())
    await mkdir(d).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
}
