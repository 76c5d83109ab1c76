import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

/** The Chromium to launch: the setting, else TRAWL_CHROMIUM_PATH or CHROMIUM_PATH, else the first on PATH. */
export function findChromium(configured: string | undefined, env = process.env): string | undefined {
  const given = configured ?? env.TRAWL_CHROMIUM_PATH ?? env.CHROMIUM_PATH;
  if (given) return given;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const name of NAMES) {
      const path = join(dir, name);
      try {
        accessSync(path, constants.X_OK);
        return path;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}
