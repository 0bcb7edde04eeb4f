import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { checkRelPath, EntryType, ErrorCode, parentOf, resolveLinkTarget, type Hasher, type Problem } from '@skiff/protocol';
import type { TreeState } from '../core/tree-state.ts';
import { GITIGNORE_FILE, ROOT_IGNORE_FILES, type IgnoreMatcher } from '../ignore/index.ts';
import { UNHASHED, type IndexEntry } from './entry.ts';
import { HASH_CHUNK_BYTES, hashFileSync } from './hash-file.ts';

/**
 * Brings the live local tree up to date for the paths a watcher reported,
 * touching the disk for those paths only (plus the contents of a directory
 * that appeared). A file keeps its hash when size, mtime and inode did not
 * change. Returns every path whose entry changed — the input of the next
 * batch — or `rulesChanged` when an ignore file moved, in which case the
 * caller rescans the tree (a rule may include or exclude anything).
 *
 * Synchronous fs calls on purpose: a save touches one or two paths, and a
 * thread-pool round trip per call would cost more than the calls.
 */
export interface RefreshResult {
  changed: Set<string>;
  /** Directories that appeared: listed now, and worth listing again (see Session.recheckNewDirs). */
  newDirs: string[];
  problems: Problem[];
  rulesChanged: boolean;
}

const ROOT_RULE_FILES: ReadonlySet<string> = new Set(ROOT_IGNORE_FILES);

export function touchesIgnoreRules(path: string): boolean {
  return path.endsWith(`/${GITIGNORE_FILE}`) || path === GITIGNORE_FILE || ROOT_RULE_FILES.has(path);
}

/** The paths of what `dir` holds now (its direct children), for a re-listing. */
export function listChildren(root: string, dir: string): string[] {
  return safeReaddir(join(root, dir)).map((name) => `${dir}/${name}`);
}

export function refreshPaths(root: string, paths: readonly string[], local: TreeState<IndexEntry>, matcher: IgnoreMatcher, hasher: Hasher): RefreshResult {
  const result: RefreshResult = { changed: new Set(), newDirs: [], problems: [], rulesChanged: false };
  if (paths.some(touchesIgnoreRules)) {
    result.rulesChanged = true;
    return result;
  }
  const buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  const refresh = (path: string): void => {
    if (checkRelPath(path) !== null) return;
    let st: Stats;
    try {
      st = lstatSync(join(root, path));
    } catch {
      removed(path);
      return;
    }
    const isDir = st.isDirectory();
    if (matcher.isIgnored(path, isDir) || !parentsPresent(path)) {
      removed(path);
      return;
    }
    const before = local.get(path);
    const base = { path, mtime: st.mtimeMs, mode: st.mode & 0o777, ino: st.ino };
    let entry: IndexEntry;
    if (isDir) {
      entry = { ...base, type: EntryType.DIR, size: 0, hash: '' };
    } else if (st.isFile()) {
      if (before?.type === EntryType.FILE && before.hash !== UNHASHED && before.size === st.size && before.mtime === st.mtimeMs && before.ino === st.ino && before.mode === base.mode) return;
      try {
        const { hash, size } = hashFileSync(join(root, path), hasher, buffer, st.size);
        entry = { ...base, type: EntryType.FILE, size, hash };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') removed(path);
        else result.problems.push({ path, code: ErrorCode.IO, message: `cannot read ${path}: ${(err as Error).message}` });
        return;
      }
    } else if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = readlinkSync(join(root, path));
      } catch {
        removed(path);
        return;
      }
      if (resolveLinkTarget(path, target) === null) {
        result.problems.push({ path, code: ErrorCode.SYMLINK_ESCAPE, message: `symlink ${path} points outside the project (${target}); it is not synced` });
        removed(path);
        return;
      }
      entry = { ...base, type: EntryType.SYMLINK, size: Buffer.byteLength(target), hash: '', target };
    } else {
      result.problems.push({ path, code: ErrorCode.UNSUPPORTED_FILE, message: `${path} is a socket, FIFO or device; it is not synced` });
      removed(path);
      return;
    }
    if (before && before.type !== entry.type) local.deleteTree(path).forEach((e) => result.changed.add(e.path));
    if (!before || entryDiffers(before, entry)) {
      local.set(entry);
      result.changed.add(path);
    }
    // A directory that appeared may have arrived whole (moved in, unpacked):
    // its contents are listed here rather than trusted to come as events.
    if (isDir && before?.type !== EntryType.DIR) {
      result.newDirs.push(path);
      for (const name of safeReaddir(join(root, path))) refresh(`${path}/${name}`);
    }
  };

  const removed = (path: string): void => {
    for (const e of local.deleteTree(path)) result.changed.add(e.path);
  };

  // A path whose parent directory is not in the tree is ignored or gone: an
  // event for it must not resurrect it. A parent not seen yet is looked at
  // first (which lists it, and so this path, when it is a new directory).
  const parentsPresent = (path: string): boolean => {
    const parent = parentOf(path);
    if (parent === '') return true;
    if (!local.has(parent)) refresh(parent);
    return local.get(parent)?.type === EntryType.DIR;
  };

  for (const path of paths) refresh(path);
  return result;
}

function entryDiffers(a: IndexEntry, b: IndexEntry): boolean {
  return a.type !== b.type || a.size !== b.size || a.hash !== b.hash || a.mode !== b.mode || a.target !== b.target || a.mtime !== b.mtime || a.ino !== b.ino;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
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
