import { loadAddon } from './load-addon.ts';
import { splitNulTerminated, type RawListing } from './stat-dir.ts';

/*
 * The agent's start-up walk of its root against the manifest it saved, in
 * one call into the addon (native/verify-saved.c): a restart of an unchanged
 * root then makes no string, map entry or object per entry. What did not
 * match comes back as a listing of paths for the JavaScript scan to take.
 */

interface VerifyAddon {
  verifySaved(root: string, paths: Uint8Array, numbers: Float64Array, held: Uint8Array): { names: string; stats: Float64Array; failed: string; matched: number } | null;
}

export interface SavedWalk {
  /** The entries that matched no row, as a listing whose names are paths relative to the root. */
  unmatched: RawListing;
  /** Directories that could not be listed (other than gone): to be listed again, to say why. */
  failed: string[];
  /** Rows vouched for (their bytes in `held` set to 1). */
  matched: number;
}

/**
 * Walks `root` from its top, setting held[row] for every row of the saved
 * manifest (`paths`, NUL-joined; `numbers`, its rows) that an entry's lstat
 * still matches, descending only into matched directories. Null when the
 * paths are not one distinct path per row (walk in JavaScript then).
 */
export type VerifySaved = (root: string, paths: Uint8Array, numbers: Float64Array, held: Uint8Array) => SavedWalk | null;

/** The addon's walk from the first candidate that has it; null without one. */
export function loadVerifySaved(candidates: readonly string[]): VerifySaved | null {
  const addon = loadAddon<VerifyAddon>(candidates, (a) => typeof a.verifySaved === 'function');
  if (addon === null) return null;
  const verify = addon.verifySaved.bind(addon);
  return (root, paths, numbers, held) => {
    const raw = verify(root, paths, numbers, held);
    if (raw === null) return null;
    return { unmatched: { names: splitNulTerminated(raw.names), stats: raw.stats }, failed: splitNulTerminated(raw.failed), matched: raw.matched };
  };
}
