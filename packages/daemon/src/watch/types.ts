import type { SkiffError } from '@skiff/protocol';

/** What happened to a path, as the watcher saw it. */
export const WatchEventKind = {
  CREATE: 'create',
  UPDATE: 'update',
  DELETE: 'delete',
} as const;
export type WatchEventKind = (typeof WatchEventKind)[keyof typeof WatchEventKind];

export interface WatchEvent {
  kind: WatchEventKind;
  /**
   * POSIX wire path relative to the watched root (valid for checkRelPath).
   * It may name a directory: a directory moved out of the tree arrives as
   * one delete of the directory, with no event for what it held, so a
   * consumer that rescans a path must rescan its subtree.
   */
  path: string;
}

/** Whether a wire path is left out of the sync; `isDir` says what it is. */
export type IsIgnored = (relPath: string, isDir: boolean) => boolean;

export interface PollOptions {
  intervalMs: number;
}

export interface WatchTreeOptions {
  isIgnored: IsIgnored;
  /**
   * Stat polling instead of kernel notifications, for file systems that
   * send none (network mounts, WSL's view of Windows drives). `true` uses
   * DEFAULT_POLL_INTERVAL_MS.
   */
  poll?: boolean | PollOptions;
  /**
   * Directories (wire paths) already known to be ignored, for example found
   * by the initial scan: the native backend does not watch them at all,
   * which saves one inotify watch per directory below them. They stay
   * unwatched until the watcher is recreated, so a caller that re-includes
   * one (an ignore file changed) must recreate the watcher.
   */
  ignoredDirs?: readonly string[];
  /** Changes, in the order seen, never empty, ignored paths left out. */
  onEvents(events: WatchEvent[]): void;
  /**
   * The tree is moving and more events may follow, without paths yet: the
   * native watcher holds the tail of a burst for its own debounce, and this
   * is how a storm is recognised before its paths arrive. Optional.
   */
  onActivity?(): void;
  /**
   * A failure after `ready`. A watch limit or a lost subscription means the
   * watcher no longer sees changes: the caller should rescan and recreate it.
   */
  onError(err: SkiffError): void;
}

export interface TreeWatcher {
  /**
   * Resolves once every directory is watched: a change made after it is
   * seen. Rejects with a SkiffError when watching cannot start (missing
   * root, inotify limit). It is marked handled, so a caller that never
   * awaits it does not crash the process.
   */
  ready: Promise<void>;
  /** Stops watching; no callback runs once it resolved. Idempotent. */
  close(): Promise<void>;
  /** Paths seen but not yet handed over as a batch, taken now (batching watchers only). */
  drain?(): string[];
}
