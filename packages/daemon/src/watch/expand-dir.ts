import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRelPath } from '@skiff/protocol';
import type { PathFilter } from './path-filter.ts';
import { joinWire } from './wire-path.ts';

/** Directories listed at once while walking a directory that just appeared. */
export const EXPAND_CONCURRENCY = 8;

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
      const rel = joinWire(dir, entry.name);
      if (checkRelPath(rel) !== null) continue;
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
