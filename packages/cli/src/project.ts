import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The project file whose directory is a project's root. */
export const PROJECT_FILE = 'skiff.yaml';

/**
 * The project root for DIR: the nearest directory at or above it holding a
 * skiff.yaml, so `skiff status` works from any subdirectory; DIR itself when
 * there is none.
 */
export function projectRoot(dir = '.'): string {
  const start = resolve(dir);
  for (let d = start; ; d = dirname(d)) {
    if (existsSync(join(d, PROJECT_FILE))) return d;
    if (dirname(d) === d) return start;
  }
}
