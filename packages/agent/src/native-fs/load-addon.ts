import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The addon, where it was loaded from; or why none of the candidates would do. */
export type AddonOutcome<T> = { ok: true; addon: T; path: string } | { ok: false; reason: string };

/**
 * The native addon (reaper.node) from the first of `candidates` that loads
 * and has what `fits` asks for (it names what is missing, or returns null
 * when all is there), or the reason there is none: not Linux, none built
 * (no C toolchain), one that does not load (built against another C
 * library), or an older build without the calls.
 */
export function loadAddonOrReason<T>(candidates: readonly string[], fits: (addon: Partial<T>) => string | null): AddonOutcome<T> {
  if (process.platform !== 'linux') return { ok: false, reason: `reaper.node is built for Linux only (this is ${process.platform})` };
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    let addon: Partial<T>;
    try {
      addon = require(path) as Partial<T>;
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message}`);
      continue;
    }
    const missing = fits(addon);
    if (missing === null) return { ok: true, addon: addon as T, path };
    failures.push(`${path} has no ${missing} (built before it existed; rebuild with: node packages/agent/native/build.mjs)`);
  }
  if (failures.length > 0) return { ok: false, reason: `reaper.node failed to load (${failures.join('; ')})` };
  return { ok: false, reason: `reaper.node not found (looked in ${candidates.join(', ')}; build it with: node packages/agent/native/build.mjs)` };
}

/** loadAddonOrReason for callers that fall back to Node's own calls without saying why: the addon, or null. */
export function loadAddon<T>(candidates: readonly string[], fits: (addon: Partial<T>) => boolean): T | null {
  const outcome = loadAddonOrReason<T>(candidates, (a) => (fits(a) ? null : 'the calls needed'));
  return outcome.ok ? outcome.addon : null;
}
