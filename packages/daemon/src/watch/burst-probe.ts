import { watch, type FSWatcher } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRelPath, parentOf } from '@skiff/protocol';
import type { PathFilter } from './path-filter.ts';
import { joinWire } from './wire-path.ts';

/** Directories probed at once; the least recently touched is dropped first. */
export const PROBE_MAX_DIRS = 64;
/** Siblings probed beside the directory of a small delivery (see touchWithSiblings). */
export const PROBE_SIBLINGS = 48;
/** Probes close after this long without a delivery or a raw event. */
export const PROBE_IDLE_MS = 1_000;

/**
 * A raw-activity sensor beside the native watcher.
 *
 * Why: @parcel/watcher delivers the first inotify read of a burst at once,
 * then holds everything else until the tree has been quiet for 50 ms (or
 * 500 ms have passed since its last delivery). A storm therefore arrives as
 * a delivery of one or a few paths, then nothing while it goes on, then the
 * rest: at the moment of the first delivery a storm looks exactly like a
 * lone save. The probe watches, with plain non-recursive inotify watches and
 * no debounce, the directories the latest deliveries touched; a raw event
 * there within the coalescer's leading window means the tree is still
 * moving, and the batch waits for the rest instead of leaving alone.
 *
 * It reports activity only, never paths: the native watcher stays the one
 * source of events. Not activity: ignored names (editor temp files), and
 * echoes, raw events for a path of the latest delivery (the kernel queues
 * each event to both watchers, and the native one may have delivered a lone
 * save before the probe reads the same save's events). It
 * costs at most PROBE_MAX_DIRS extra watches, and none once the tree has
 * been quiet for PROBE_IDLE_MS.
 */
export class BurstProbe {
  /** Insertion order is recency: re-touching a directory moves it last. */
  private readonly watchers = new Map<string, FSWatcher>();
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private delivered: ReadonlySet<string> = new Set();

  constructor(
    private readonly absRoot: string,
    private readonly filter: PathFilter,
    private readonly onActivity: () => void,
  ) {}

  /** Starts (or keeps) probing the wire directory `relDir` ('' is the root). */
  touch(relDir: string): void {
    if (this.closed) return;
    this.armIdle();
    const existing = this.watchers.get(relDir);
    if (existing) {
      this.watchers.delete(relDir);
      this.watchers.set(relDir, existing);
      return;
    }
    if (this.watchers.size >= PROBE_MAX_DIRS) {
      const [oldest, w] = this.watchers.entries().next().value as [string, FSWatcher];
      this.watchers.delete(oldest);
      w.close();
    }
    let w: FSWatcher;
    try {
      w = watch(join(this.absRoot, relDir), { persistent: false }, (_type, name) => this.onRaw(relDir, name));
    } catch {
      return; // gone already, or not a directory: nothing to sense there
    }
    w.on('error', () => this.drop(relDir, w));
    this.watchers.set(relDir, w);
  }

  /** The wire paths of the latest native delivery: raw events for them are echoes. */
  delivery(paths: ReadonlySet<string>): void {
    this.delivered = paths;
  }

  /**
   * Probes `relDir` and up to PROBE_SIBLINGS of its sibling directories,
   * those that sort after it first. Why: git writes in sorted path order,
   * so a checkout that changes a dozen files per directory has left the
   * directory of its first delivered file before the probe is armed; the
   * directories it writes next are the following siblings.
   */
  async touchWithSiblings(relDir: string): Promise<void> {
    this.touch(relDir);
    if (relDir === '' || this.closed) return;
    const parent = parentOf(relDir);
    const name = relDir.slice(parent === '' ? 0 : parent.length + 1);
    let names: string[];
    try {
      const entries = await readdir(join(this.absRoot, parent), { withFileTypes: true });
      names = entries.filter((e) => e.isDirectory() && e.name !== name).map((e) => e.name);
    } catch {
      return;
    }
    names.sort();
    const after = names.filter((n) => n > name);
    const before = names.filter((n) => n < name);
    const chosen = [...after, ...before]
      .map((n) => joinWire(parent, n))
      .filter((rel) => checkRelPath(rel) === null && !this.filter.dirIgnored(rel))
      .slice(0, PROBE_SIBLINGS);
    // Touched in reverse so that the next in sort order are the most recent,
    // then the directory itself again so that it is kept.
    for (const rel of chosen.reverse()) this.touch(rel);
    this.touch(relDir);
  }

  close(): void {
    this.closed = true;
    this.closeAll();
  }

  get size(): number {
    return this.watchers.size;
  }

  private onRaw(relDir: string, name: string | null): void {
    try {
      if (this.closed) return;
      if (name !== null) {
        const rel = joinWire(relDir, name);
        if (this.delivered.has(rel) || this.filter.ignoredAnyKind(rel)) return;
      }
      this.armIdle();
      this.onActivity();
    } catch {
      // A sensor never fails the watcher: a missed signal only costs a split batch.
    }
  }

  private drop(relDir: string, w: FSWatcher): void {
    if (this.watchers.get(relDir) === w) this.watchers.delete(relDir);
    w.close();
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.closeAll(), PROBE_IDLE_MS);
    this.idleTimer.unref();
  }

  private closeAll(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
