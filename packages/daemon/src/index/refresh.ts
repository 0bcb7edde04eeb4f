import { lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { checkRelPath, EntryType, parentOf, type Hasher, type Problem } from '@skiff/protocol';
import type { TreeState } from '../core/tree-state.ts';
import { GITIGNORE_FILE, ROOT_IGNORE_FILES, type IgnoreMatcher } from '../ignore/index.ts';
import { type IndexEntry } from './entry.ts';
import { HASH_CHUNK_BYTES, hashFileSync } from './hash-file.ts';
import { entryFromStat, ioProblem, notUtf8Problem } from './stat-entry.ts';
import { isVanished } from './vanished.ts';

/**
 * Brings the live local tree up to date for the paths a watcher reported,
 * touching the disk for those paths only. The watcher owns completeness
 * (it lists what a new directory holds, see watch/new-dirs.ts); this owns
 * what each path now is, through the same entryFromStat as the scan.
 *
 * Returns every path whose entry changed — the input of the next batch —
 * the problems found (a name the wire cannot carry, an unreadable file),
 * and the paths looked at, so that a problem reported earlier for one of
 * them can be dropped; or `rulesChanged` when an ignore file moved, in which
 * case the caller rescans the tree (a rule may include or exclude anything).
 *
 * Hard links: a write through one name of a file changes every other name,
 * and only the name written through gets an event. So when a file with
 * several names changed, every other path with its inode is refreshed too.
 *
 * Synchronous fs calls on purpose: a save touches one or two paths, and a
 * thread-pool round trip per call would cost more than the calls.
 */
export interface RefreshResult {
  changed: Set<string>;
  problems: Problem[];
  /** Paths examined: any earlier problem of theirs is now either gone or in `problems`. */
  examined: Set<string>;
  rulesChanged: boolean;
}

const ROOT_RULE_FILES: ReadonlySet<string> = new Set(ROOT_IGNORE_FILES);

export function touchesIgnoreRules(path: string): boolean {
  return path.endsWith(`/${GITIGNORE_FILE}`) || path === GITIGNORE_FILE || ROOT_RULE_FILES.has(path);
}

export function refreshPaths(root: string, paths: readonly string[], local: TreeState<IndexEntry>, matcher: IgnoreMatcher, hasher: Hasher): RefreshResult {
  const result: RefreshResult = { changed: new Set(), problems: [], examined: new Set(), rulesChanged: false };
  if (paths.some(touchesIgnoreRules)) {
    result.rulesChanged = true;
    return result;
  }
  const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  const linkedInodes = new Set<number>();

  const refresh = (path: string): void => {
    if (result.examined.has(path)) return;
    result.examined.add(path);
    const abs = join(root, path);
    const invalid = checkRelPath(path);
    if (invalid) {
      // Reported while it exists; once it is renamed or removed, its problem goes with it.
      removed(path);
      if (lstatSync(abs, { throwIfNoEntry: false }) !== undefined) result.problems.push({ path, code: invalid.code, message: `${invalid.message}; it is not synced` });
      return;
    }
    let st: Stats;
    try {
      st = lstatSync(abs);
    } catch (err) {
      removed(path);
      const bad = isVanished(err) ? notUtf8Problem(root, path) : ioProblem(path, 'stat', err);
      if (bad) result.problems.push(bad);
      return;
    }
    if (matcher.isIgnored(path, st.isDirectory()) || !parentsPresent(path)) {
      removed(path);
      return;
    }
    const before = local.get(path);
    const verdict = entryFromStat(abs, path, st, before);
    if (verdict.kind !== 'entry') {
      removed(path);
      if (verdict.kind === 'problem') result.problems.push(verdict.problem);
      return;
    }
    let entry = verdict.entry;
    if (verdict.needsHash) {
      try {
        const { hash, size } = hashFileSync(abs, hasher, buffer, st.size);
        entry = { ...entry, size, hash };
      } catch (err) {
        if (isVanished(err)) removed(path);
        else result.problems.push(ioProblem(path, 'read', err));
        return;
      }
    }
    if (before && before.type !== entry.type) local.deleteTree(path).forEach((e) => result.changed.add(e.path));
    if (!before || entryDiffers(before, entry)) {
      local.set(entry);
      result.changed.add(path);
      if (entry.nlink !== undefined && (before?.hash !== entry.hash || before?.size !== entry.size)) linkedInodes.add(entry.ino);
    }
  };

  const removed = (path: string): void => {
    for (const e of local.deleteTree(path)) result.changed.add(e.path);
  };

  // A path whose parent directory is not in the tree is ignored or gone: an
  // event for it must not resurrect it. A parent not seen yet is looked at
  // first.
  const parentsPresent = (path: string): boolean => {
    const parent = parentOf(path);
    if (parent === '') return true;
    if (!local.has(parent)) refresh(parent);
    return local.get(parent)?.type === EntryType.DIR;
  };

  for (const path of paths) refresh(path);
  // The other names of files that changed through one of theirs: O(tree),
  // paid only when a multiply-linked file changed.
  if (linkedInodes.size > 0) {
    const siblings = [...local.values()].filter((e) => e.type === EntryType.FILE && linkedInodes.has(e.ino) && !result.examined.has(e.path));
    for (const e of siblings) refresh(e.path);
  }
  return result;
}

function entryDiffers(a: IndexEntry, b: IndexEntry): boolean {
  return a.type !== b.type || a.size !== b.size || a.hash !== b.hash || a.mode !== b.mode || a.target !== b.target || a.mtime !== b.mtime || a.ino !== b.ino;
}

/** Makes `local` equal `next` (a fresh scan) and returns the paths that changed. O(tree). */
export function replaceTree(local: TreeState<IndexEntry>, next: ReadonlyMap<string, IndexEntry>): Set<string> {
  const changed = new Set<string>();
  for (const path of [...local.entries.keys()]) {
    if (!next.has(path)) {
      local.delete(path);
      changed.add(path);
    }
  }
  for (const [path, entry] of next) {
    const before = local.get(path);
    if (!before || entryDiffers(before, entry)) {
      local.set(entry);
      changed.add(path);
    }
  }
  return changed;
}
