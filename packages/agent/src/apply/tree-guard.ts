import { join } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import type { Manifest } from '../manifest/manifest.ts';
import { dirEntry } from '../manifest/entries.ts';
import type { FsOps } from './fs-ops.ts';

/** Mode of a parent directory the guard creates, or makes traversable again. */
export const DEFAULT_DIR_MODE = 0o755;

export type ParentState = 'present' | 'absent';

/**
 * Keeps the apply step from ever writing, creating, chmodding or deleting
 * through a symlink.
 *
 * Invariant: before anything is done at `a/b/c`, every existing component of
 * `a/b` has been lstat'ed and is a real directory. A symlink there is refused
 * with SKIFF_E_SYMLINK_ESCAPE even when it points inside the root: following
 * one would make the same bytes reachable under two names, and whether its
 * target stays inside is a race with whatever else runs in the container.
 * The one exception is a symlink the same batch deletes: the daemon is turning
 * it into a directory, so it is unlinked (never followed) and the directory
 * made in its place.
 *
 * A regular file in a parent position is replaced by a directory: the incoming
 * tree wins. Directories proven real are cached for the batch, so 50,000 files
 * in 4,000 directories cost 4,000 lstat calls, not 200,000; anything the batch
 * removes is forgotten from the cache at once.
 */
export class TreeGuard {
  /** Wire paths proven to be real directories during this batch. */
  private readonly dirs = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly fs: FsOps,
    private readonly manifest: Manifest,
    /** True when the batch deletes this path (or an ancestor of it). */
    private readonly isDeleted: (path: string) => boolean,
  ) {}

  /** Makes every component of `dir` ('' = the root) a real directory, creating what is missing. */
  ensureDir(dir: string, forPath: string): void {
    if (dir === '' || this.dirs.has(dir)) return;
    let at = 0;
    while (at >= 0) {
      at = dir.indexOf('/', at + 1);
      const prefix = at < 0 ? dir : dir.slice(0, at);
      if (this.dirs.has(prefix)) continue;
      this.makeReal(prefix, forPath);
      this.dirs.add(prefix);
    }
  }

  /**
   * For a delete: whether every parent of `path` is a real directory
   * ('present') or one is missing or not a directory, so there is nothing to
   * delete ('absent'). Throws on a symlinked parent.
   */
  parents(path: string): ParentState {
    let at = path.indexOf('/');
    while (at >= 0) {
      const prefix = path.slice(0, at);
      if (!this.dirs.has(prefix)) {
        const st = this.fs.lstatSync(join(this.root, prefix), { throwIfNoEntry: false });
        if (st === undefined || (!st.isDirectory() && !st.isSymbolicLink())) return 'absent';
        if (st.isSymbolicLink()) throw symlinkParent(path, prefix);
        this.dirs.add(prefix);
      }
      at = path.indexOf('/', at + 1);
    }
    return 'present';
  }

  /** Records that `dir` is now a real directory. */
  remember(dir: string): void {
    this.dirs.add(dir);
  }

  /** Forgets `path` and everything under it: the batch removed or replaced it. */
  forget(path: string): void {
    // Descendants are cached only under a cached directory: a miss ends it.
    if (!this.dirs.delete(path)) return;
    const under = `${path}/`;
    for (const d of this.dirs) if (d.startsWith(under)) this.dirs.delete(d);
  }

  private makeReal(rel: string, forPath: string): void {
    const abs = join(this.root, rel);
    const st = this.fs.lstatSync(abs, { throwIfNoEntry: false });
    if (st?.isDirectory()) return;
    if (st?.isSymbolicLink() && !this.isDeleted(rel)) throw symlinkParent(forPath, rel);
    // A file, or a symlink this batch deletes, stands where a directory must be.
    if (st !== undefined) this.fs.unlinkSync(abs);
    this.fs.mkdirSync(abs, DEFAULT_DIR_MODE);
    // mkdir's mode passes through the umask; the manifest records what is on disk.
    this.fs.chmodSync(abs, DEFAULT_DIR_MODE);
    this.manifest.set(dirEntry(rel, DEFAULT_DIR_MODE, Date.now()));
  }
}

function symlinkParent(path: string, link: string): SkiffError {
  return new SkiffError(
    ErrorCode.SYMLINK_ESCAPE,
    `${path}: its parent ${link} is a symlink on the agent; the agent never writes or deletes through a symlink`,
    { path },
  );
}
