import { watchWithInotify } from './inotify.ts';
import { watchWithParcel } from './parcel.ts';
import { DEFAULT_POLL_INTERVAL_MS, watchWithPolling } from './poll.ts';
import type { TreeWatcher, WatchTreeOptions } from './types.ts';

/** The poll period `opts.poll` asks for, or null for native notifications. */
export function pollIntervalOf(poll: WatchTreeOptions['poll']): number | null {
  if (!poll) return null;
  return poll === true ? DEFAULT_POLL_INTERVAL_MS : Math.max(1, poll.intervalMs);
}

/** Names the native backend: SKIFF_WATCHER=parcel keeps @parcel/watcher on Linux too. */
export const WATCHER_ENV = 'SKIFF_WATCHER';

export const Backend = { INOTIFY: 'inotify', PARCEL: 'parcel', POLL: 'poll' } as const;
export type Backend = (typeof Backend)[keyof typeof Backend];

/**
 * Which backend watches: stat polling when `opts.poll` asks for it; on
 * Linux, inotify through fs.watch with no debounce (inotify.ts says why);
 * elsewhere @parcel/watcher (FSEvents, ReadDirectoryChangesW).
 */
export function backendFor(poll: WatchTreeOptions['poll'], env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Backend {
  if (pollIntervalOf(poll) !== null) return Backend.POLL;
  if (platform === 'linux' && env[WATCHER_ENV] !== Backend.PARCEL) return Backend.INOTIFY;
  return Backend.PARCEL;
}

/** Watches the tree under `root` with the backend backendFor() picks (one watch per directory, or polling). */
export function watchTree(root: string, opts: WatchTreeOptions): TreeWatcher {
  const interval = pollIntervalOf(opts.poll);
  switch (backendFor(opts.poll)) {
    case Backend.POLL:
      return watchWithPolling(root, opts, interval!);
    case Backend.INOTIFY:
      return watchWithInotify(root, opts);
    case Backend.PARCEL:
      return watchWithParcel(root, opts);
  }
}
