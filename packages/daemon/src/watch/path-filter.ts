import { parentOf } from '@skiff/protocol';
import type { IsIgnored } from './types.ts';

/**
 * How long a cached directory verdict is trusted. Ignore files change rarely
 * and the caller rescans when they do; a storm of events under a few
 * directories asks about the same ancestors thousands of times.
 */
export const FILTER_CACHE_MS = 1_000;
/** Bound on cached directory verdicts; the cache is dropped when it is full. */
export const FILTER_CACHE_MAX = 50_000;

/**
 * Applies the caller's ignore rules to watched paths. A path is ignored when
 * any ancestor directory is (the watcher may report a path under a directory
 * it should never have descended into), or when the path itself is.
 */
export class PathFilter {
  private readonly dirs = new Map<string, boolean>();
  private bornAt = 0;

  constructor(
    private readonly isIgnored: IsIgnored,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether `rel`, known to be a directory or not, is left out. */
  ignored(rel: string, isDir: boolean): boolean {
    const parent = parentOf(rel);
    if (parent !== '' && this.dirIgnored(parent)) return true;
    return isDir ? this.dirIgnored(rel) : this.isIgnored(rel, false);
  }

  /**
   * For a path whose kind is unknown (deleted, or not yet stat'ed): left out
   * only when it would be whichever kind it was, so that a change is never
   * lost to a guess; a spurious path costs the consumer one rescan.
   */
  ignoredAnyKind(rel: string): boolean {
    const parent = parentOf(rel);
    if (parent !== '' && this.dirIgnored(parent)) return true;
    return this.isIgnored(rel, false) && this.dirIgnored(rel);
  }

  /** Whether the directory `rel` or one of its ancestors is left out. */
  dirIgnored(rel: string): boolean {
    const t = this.now();
    if (t - this.bornAt > FILTER_CACHE_MS || this.dirs.size >= FILTER_CACHE_MAX) {
      this.dirs.clear();
      this.bornAt = t;
    }
    const known = this.dirs.get(rel);
    if (known !== undefined) return known;
    const parent = parentOf(rel);
    const verdict = (parent !== '' && this.dirIgnored(parent)) || this.isIgnored(rel, true);
    this.dirs.set(rel, verdict);
    return verdict;
  }
}
