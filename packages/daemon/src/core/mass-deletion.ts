import { EntryType, parentOf, type Entry } from '@skiff/protocol';

/**
 * The guard against mirroring a disaster. When the project looks emptied or
 * replaced (an unmounted volume, a wrong checkout, a directory deleted by
 * mistake), the plan deletes (nearly) everything the agent holds; skiff then
 * stops and asks for an explicit --force instead of deleting the agent's
 * copy, which may be the last one. Pure.
 *
 * It trips when the agent holds at least MASS_DELETION_MIN_FILES files and
 * the plan deletes at least MASS_DELETION_FRACTION of them, or when the
 * project holds no file at all while the agent does. A file whose content
 * the same plan writes elsewhere (`keptHashes`: a move or rename, even of
 * the whole tree, src/ → app/src/) is not a deletion. The caller passes the
 * agent's tree without the paths the project ignores: those are never
 * deleted, so they count neither way.
 */
export const MASS_DELETION_MIN_FILES = 10;
export const MASS_DELETION_FRACTION = 0.9;

export interface MassDeletion {
  deleted: number;
  total: number;
}

/**
 * `deleteRoots`: the paths the plan deletes (a directory takes its subtree);
 * `localFiles`: files in the project; `keptHashes`: the content hashes the
 * plan writes, so a deleted file whose content lives on is a move.
 */
export function findMassDeletion(
  remote: ReadonlyMap<string, Entry>,
  deleteRoots: readonly string[],
  localFiles: number,
  keptHashes: ReadonlySet<string> = new Set(),
): MassDeletion | null {
  let total = 0;
  for (const e of remote.values()) if (e.type === EntryType.FILE) total++;
  if (total === 0) return null;
  if (localFiles === 0 && total > 0) return { deleted: total, total };
  if (total < MASS_DELETION_MIN_FILES || deleteRoots.length === 0) return null;
  const roots = new Set(deleteRoots);
  let deleted = 0;
  for (const e of remote.values()) {
    if (e.type !== EntryType.FILE || keptHashes.has(e.hash)) continue;
    for (let p = e.path; p !== ''; p = parentOf(p)) {
      if (roots.has(p)) {
        deleted++;
        break;
      }
    }
  }
  return deleted >= total * MASS_DELETION_FRACTION ? { deleted, total } : null;
}
