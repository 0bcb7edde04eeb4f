import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PathFilter } from './path-filter.ts';
import { joinWire } from './wire-path.ts';

/** Directories listed at once while walking a directory that just appeared. */
export const EXPAND_CONCURRENCY = 8;
/**
 * When a new directory is listed again after its first listing: once the
 * native watcher has certainly caught up with it (it watches a directory
 * only when it handles the directory's create event, a few ms after), and
 * once more later for a loaded machine.
 */
export const NEW_DIR_RECHECK_MS = [300, 1_500] as const;

/**
 * Lists what a directory that just appeared already holds, as wire paths
 * (directories included, ignored subtrees pruned, symlinks not followed).
 *
 * Why: the native watcher starts watching a new directory only when it
 * handles the directory's own create event. What `mkdir -p a/b && touch
 * a/b/f`, an archive extraction or a `mv` into the tree put there before
 * that moment produces no event at all (measured: a 5,050-entry burst into
 * 50 new directories reported 2,875 entries). Listing after the watch is in
 * place closes the gap: a later change has its own event, an earlier one is
 * in the listing, and a path in both is merged downstream.
 *
 * A directory that vanished or cannot be read contributes nothing: its own
 * delete event, or the next rescan, tells the rest.
 */
export async function expandNewDir(absRoot: string, relDir: string, filter: PathFilter): Promise<string[]> {
  const found: string[] = [];
  const queue = [relDir];
  const listOne = async (dir: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(join(absRoot, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      // A name the wire refuses is passed on all the same: the consumer
      // reports it as a problem rather than let it vanish unsaid.
      const rel = joinWire(dir, entry.name);
      const isDir = entry.isDirectory();
      if (filter.ignored(rel, isDir)) continue;
      found.push(rel);
      if (isDir) queue.push(rel);
    }
  };
  while (queue.length > 0) {
    await Promise.all(queue.splice(0, EXPAND_CONCURRENCY).map(listOne));
  }
  return found;
}

/**
 * New-directory completeness, owned by the watcher alone. A directory that
 * appears is listed at once (expandNewDir), but a file written into it before
 * the native watcher watched it gets no event, and the listing may have run
 * before the file existed. So each new directory is listed again at
 * NEW_DIR_RECHECK_MS; what the listings find that no event or earlier
 * listing reported goes out as create events like any other, through the
 * same coalescer. Paths already reported are remembered only while a
 * re-listing is pending.
 */
export class NewDirRecheck {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Paths reported (by events or listings) while re-listings are pending. */
  private readonly reported = new Set<string>();
  private closed = false;

  constructor(
    private readonly absRoot: string,
    private readonly filter: PathFilter,
    private readonly emit: (paths: string[]) => void,
  ) {}

  /** The watcher reported these paths: a re-listing need not report them again. */
  saw(paths: Iterable<string>): void {
    if (this.timers.size === 0) return;
    for (const path of paths) this.reported.add(path);
  }

  schedule(relDir: string): void {
    this.reported.add(relDir);
    for (const delay of NEW_DIR_RECHECK_MS) {
      const timer = setTimeout(() => {
        void expandNewDir(this.absRoot, relDir, this.filter).then((paths) => {
          this.timers.delete(timer);
          if (this.closed) return;
          const fresh = paths.filter((p) => !this.reported.has(p));
          this.saw(fresh);
          if (this.timers.size === 0) this.reported.clear();
          if (fresh.length > 0) this.emit(fresh);
        });
      }, delay);
      this.timers.add(timer);
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.reported.clear();
  }
}
