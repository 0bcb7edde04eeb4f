import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The native addon from the first of `candidates` that loads and has what
 * `fits` asks for, or null: none built (no C toolchain), not Linux, or an
 * older build without the calls. Callers fall back to Node's own calls.
 */
export function loadAddon<T>(candidates: readonly string[], fits: (addon: Partial<T>) => boolean): T | null {
  if (process.platform !== 'linux') return null;
  const require = createRequire(import.meta.url);
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    let addon: Partial<T>;
    try {
      addon = require(path) as Partial<T>;
    } catch {
      continue;
    }
    if (fits(addon)) return addon as T;
  }
  return null;
}
