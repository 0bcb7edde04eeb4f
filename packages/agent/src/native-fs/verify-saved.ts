import { loadAddon } from './load-addon.ts';
import { splitNulTerminated, type RawListing } from './stat-dir.ts';

/*
 * The agent's start-up walk of its root against the manifest it saved, in
 * one call into the addon (native/verify-saved.c): a restart of an unchanged
 * root then makes no string, map entry or object per entry. What did not
 * match comes back as a listing of paths for the JavaScript scan to take.
 */

interface VerifyAddon {
  verifySaved(
    root: string,
    paths: Uint8Array,
    numbers: Float64Array,
    held: Uint8Array,
    rule: SavedRule,
  ): { names: string; stats: Float64Array; failed: string; matched: number; order: Int32Array; dirs: Int32Array } | null;
}

/**
 * Which rows' rule the walk applies. MANIFEST: the agent's saved manifest
 * (stat-cache.ts, rowMatches), into matched directories only. INDEX: the
 * daemon's index (stat-entry.ts, unchangedEntry; rows as indexRows lays them
 * out), into every directory of the rows, changed or not, which comes back
 * flagged WALKED among the unmatched.
 */
export const SavedRule = { MANIFEST: 0, INDEX: 1 } as const;
export type SavedRule = (typeof SavedRule)[keyof typeof SavedRule];

/** An unmatched entry's flag (stats[i * 10 + 9]): a directory the walk went into all the same (SavedRule.INDEX). */
export const WALKED_FLAG = 4;

export interface SavedWalk {
  /** The entries that matched no row, as a listing whose names are paths relative to the root. */
  unmatched: RawListing;
  /** Directories that could not be listed (other than gone): to be listed again, to say why. */
  failed: string[];
  /** Rows vouched for (their bytes in `held` set to 1). */
  matched: number;
  /** Every entry in walk order (a directory's own entry before what is in it): a matched row, or -(k + 1) for the k-th unmatched. */
  order: Int32Array;
  /**
   * Per directory listed, in walk order, two int32s: where its entries
   * start in `order` (they run to the next one's start), and the directory
   * as `order` names it (its row, or -(k + 1)), ROOT_ID for the root.
   */
  dirs: Int32Array;
}

/** The root in SavedWalk.dirs. */
export const ROOT_ID = -0x80000000;

/**
 * Walks `root` from its top, setting held[row] for every row of the saved
 * manifest (`paths`, NUL-joined; `numbers`, its rows) that an entry's lstat
 * still matches, descending only into matched directories. Null when the
 * paths are not one distinct path per row (walk in JavaScript then).
 */
export type VerifySaved = (root: string, paths: Uint8Array, numbers: Float64Array, held: Uint8Array, rule?: SavedRule) => SavedWalk | null;

/** The addon's walk from the first candidate that has it; null without one. */
export function loadVerifySaved(candidates: readonly string[]): VerifySaved | null {
  const addon = loadAddon<VerifyAddon>(candidates, (a) => typeof a.verifySaved === 'function');
  if (addon === null) return null;
  const verify = addon.verifySaved.bind(addon);
  return (root, paths, numbers, held, rule = SavedRule.MANIFEST) => {
    const raw = verify(root, paths, numbers, held, rule);
    if (raw === null) return null;
    return { unmatched: { names: splitNulTerminated(raw.names), stats: raw.stats }, failed: splitNulTerminated(raw.failed), matched: raw.matched, order: raw.order, dirs: raw.dirs };
  };
}
