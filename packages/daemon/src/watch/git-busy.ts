import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { BUSY_MAX_MS } from '../core/coalesce.ts';

/**
 * A git checkout, reset, merge or stash writes the working tree while it
 * holds the repository's `index.lock`, and removes the lock when the tree is
 * complete. That is a far better end-of-storm signal than any quiet window:
 * git may pause longer than the coalescer's QUIET_MS on a loaded machine,
 * and the app must not restart on a half-checked-out tree.
 *
 * Returns a cheap check (one stat) for the repository holding `root`, or a
 * check that is always false when there is none. A lock whose mtime is older
 * than BUSY_MAX_MS is a stale one (git was killed) and is ignored.
 */
export function gitBusy(root: string, now: () => number = Date.now): () => boolean {
  const gitDir = findGitDir(resolve(root));
  if (gitDir === null) return () => false;
  const lock = join(gitDir, 'index.lock');
  return () => {
    const st = statSync(lock, { throwIfNoEntry: false });
    return st !== undefined && now() - st.mtimeMs < BUSY_MAX_MS;
  };
}

/** The git directory of the repository holding `dir`: `.git` as a directory, or what a `.git` file (a worktree, a submodule) points to. */
export function findGitDir(dir: string): string | null {
  for (let at = dir; ; at = dirname(at)) {
    const dotGit = join(at, '.git');
    const st = statSync(dotGit, { throwIfNoEntry: false });
    if (st?.isDirectory()) return dotGit;
    if (st?.isFile()) {
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(safeRead(dotGit));
      if (m) return isAbsolute(m[1]) ? m[1] : resolve(at, m[1]);
    }
    if (dirname(at) === at) return null;
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
