/**
 * Headless Chromium for tests that look at pages as a user would. The browser is the system's
 * (TRAWL_CHROMIUM_PATH or CHROMIUM_PATH, else chromium / chromium-browser / google-chrome on PATH); where none is found
 * the tests skip and say why.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findChromium as findBrowser } from '../../src/render/find-chromium.js';

export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');

/** The Chromium trawl itself would render with, found the same way (no setting given). */
export function findChromium(): string | undefined {
  return findBrowser(undefined);
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
