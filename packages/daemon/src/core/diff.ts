import { EntryType, parentOf, type Entry } from '@skiff/protocol';

/**
 * The difference between two trees of entries. Pure: no I/O, no clock.
 *
 * Invariants, for `diff(before, after)`:
 * - every file or symlink of `before` missing from `after` (or of another type
 *   there) is in `deleted` or is the `from` of exactly one rename, even when a
 *   removed directory holds it: `deleted` is complete, for reporting;
 * - every file or symlink of `after` new at its path (or of another type
 *   before) is in `created` or is the `to` of exactly one rename;
 * - `dirsRemoved` lists only the top-most removed directories (a removed
 *   directory inside another removed one is left out), since removing a
 *   directory removes what it holds; `dirsCreated` lists every new directory,
 *   parents before children;
 * - a path whose type changed is a removal of the old entry plus a creation
 *   of the new one, never a modification;
 * - every list is sorted by path (renames by `to.path`), in code-unit order,
 *   so the result does not depend on map insertion order.
 */

export interface RenamedEntry {
  /** The entry as it was, at its old path. */
  from: Entry;
  /** The entry as it is, at its new path. */
  to: Entry;
}

export interface TreeDiff {
  /** Files and symlinks new in `after` (after-entries). */
  created: Entry[];
  /**
   * Same path and type, something that must be synced changed (after-entries):
   * a file's content (hash or size) or mode, a symlink's target, a
   * directory's mode. An mtime alone is not a modification.
   */
  modified: Entry[];
  /** Files and symlinks gone from `after` (before-entries), complete. */
  deleted: Entry[];
  /** A deleted and a created file with the same content (see pairRenames). */
  renamed: RenamedEntry[];
  /** Directories new in `after` (after-entries), all of them. */
  dirsCreated: Entry[];
  /** Directories gone from `after` (before-entries), top-most only. */
  dirsRemoved: Entry[];
}

export type DiffCounts = { [K in keyof TreeDiff]: number } & { total: number };

/** Files below this size are never paired as renames (see pairRenames). */
export const MIN_RENAME_BYTES = 1;

function byPath(a: Entry, b: Entry): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Whether two entries of the same path and type differ in what a sync carries. */
export function entryChanged(a: Entry, b: Entry): boolean {
  switch (b.type) {
    case EntryType.FILE:
      return a.hash !== b.hash || a.size !== b.size || (a.mode & 0o777) !== (b.mode & 0o777);
    case EntryType.SYMLINK:
      // A symlink's own mode means nothing on Linux; only where it points does.
      return a.target !== b.target;
    case EntryType.DIR:
      return (a.mode & 0o777) !== (b.mode & 0o777);
  }
}

/**
 * Pairs deleted files with created files of the same hash and size; each
 * deleted file pairs with at most one created file and the reverse. Among
 * several candidates a created file takes one with the same base name (a
 * moved file keeps its name more often than not), else the first by path, so
 * the pairing is deterministic. Empty files are never paired: they all share
 * one hash, so a pairing would say nothing about where a file went, and
 * writing an empty file costs nothing anyway.
 *
 * Both inputs sorted by path; returns the pairs and what is left of each.
 */
function pairRenames(deleted: Entry[], created: Entry[]): { renamed: RenamedEntry[]; deleted: Entry[]; created: Entry[] } {
  const key = (e: Entry) => `${e.hash}:${e.size}`;
  const candidates = new Map<string, Entry[]>();
  for (const e of deleted) {
    // An unread file (hash '') says nothing about its content.
    if (e.type !== EntryType.FILE || e.size < MIN_RENAME_BYTES || e.hash === '') continue;
    const list = candidates.get(key(e));
    if (list) list.push(e);
    else candidates.set(key(e), [e]);
  }
  if (candidates.size === 0) return { renamed: [], deleted, created };

  const renamed: RenamedEntry[] = [];
  const paired = new Set<Entry>();
  const leftCreated: Entry[] = [];
  for (const to of created) {
    const list = to.type === EntryType.FILE ? candidates.get(key(to)) : undefined;
    if (!list || list.length === 0) {
      leftCreated.push(to);
      continue;
    }
    const name = basename(to.path);
    let index = list.findIndex((from) => basename(from.path) === name);
    if (index < 0) index = 0;
    const [from] = list.splice(index, 1);
    paired.add(from);
    renamed.push({ from, to });
  }
  return { renamed, deleted: deleted.filter((e) => !paired.has(e)), created: leftCreated };
}

export function diff(before: ReadonlyMap<string, Entry>, after: ReadonlyMap<string, Entry>): TreeDiff {
  const created: Entry[] = [];
  const modified: Entry[] = [];
  const deleted: Entry[] = [];
  const dirsCreated: Entry[] = [];
  const removedDirs: Entry[] = [];

  const remove = (e: Entry) => (e.type === EntryType.DIR ? removedDirs : deleted).push(e);
  const add = (e: Entry) => (e.type === EntryType.DIR ? dirsCreated : created).push(e);

  for (const [path, now] of after) {
    const was = before.get(path);
    if (was === undefined) add(now);
    else if (was.type !== now.type) {
      remove(was);
      add(now);
    } else if (entryChanged(was, now)) modified.push(now);
  }
  for (const [path, was] of before) {
    if (!after.has(path)) remove(was);
  }

  created.sort(byPath);
  deleted.sort(byPath);
  modified.sort(byPath);
  dirsCreated.sort(byPath);

  // Top-most only: a removed directory whose parent is removed too goes with it.
  const removedPaths = new Set(removedDirs.map((e) => e.path));
  const dirsRemoved = removedDirs.filter((e) => !hasRemovedAncestor(e.path, removedPaths)).sort(byPath);

  const paired = pairRenames(deleted, created);
  paired.renamed.sort((a, b) => byPath(a.to, b.to));
  return {
    created: paired.created,
    modified,
    deleted: paired.deleted,
    renamed: paired.renamed,
    dirsCreated,
    dirsRemoved,
  };
}

function hasRemovedAncestor(path: string, removed: ReadonlySet<string>): boolean {
  for (let p = parentOf(path); p !== ''; p = parentOf(p)) if (removed.has(p)) return true;
  return false;
}

export function isEmptyDiff(d: TreeDiff): boolean {
  return (
    d.created.length === 0 &&
    d.modified.length === 0 &&
    d.deleted.length === 0 &&
    d.renamed.length === 0 &&
    d.dirsCreated.length === 0 &&
    d.dirsRemoved.length === 0
  );
}

export function diffCounts(d: TreeDiff): DiffCounts {
  const counts = {
    created: d.created.length,
    modified: d.modified.length,
    deleted: d.deleted.length,
    renamed: d.renamed.length,
    dirsCreated: d.dirsCreated.length,
    dirsRemoved: d.dirsRemoved.length,
  };
  return { ...counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
}

/**
 * The paths to delete so that `before` loses everything `d` removes, fewest
 * first: each top-most removed directory (deleted with its contents) and each
 * deleted or renamed-away file or symlink outside those directories. Sorted.
 */
export function deletionRoots(d: TreeDiff): string[] {
  const dirs = new Set(d.dirsRemoved.map((e) => e.path));
  const out = [...dirs];
  for (const e of [...d.deleted, ...d.renamed.map((r) => r.from)]) {
    if (!hasRemovedAncestor(e.path, dirs)) out.push(e.path);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
