import type { Problem } from '@skiff/protocol';

/** Problems `skiff status` lists at most; the count says how many there are. */
export const STATUS_PROBLEMS_MAX = 100;

/**
 * The paths a session cannot sync right now, and why: a name the wire cannot
 * carry, an escaping symlink, an unreadable file, a file the agent could not
 * write. A path's problem lasts until the path is looked at again and found
 * fine (or gone), so `skiff status` lists what is wrong now, not a history.
 */
export class ProblemSet {
  private readonly byPath = new Map<string, Problem>();

  /** Drops the problems of `paths` (looked at again), then records `found`. */
  update(paths: Iterable<string>, found: readonly Problem[]): void {
    for (const path of paths) this.byPath.delete(path);
    for (const p of found) this.byPath.set(p.path, p);
  }

  /** Starts over from a full scan's findings. */
  replace(found: readonly Problem[]): void {
    this.byPath.clear();
    this.update([], found);
  }

  get size(): number {
    return this.byPath.size;
  }

  list(max = STATUS_PROBLEMS_MAX): Problem[] {
    return [...this.byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).slice(0, max);
  }
}
