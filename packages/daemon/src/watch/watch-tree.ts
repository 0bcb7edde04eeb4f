import { watchWithParcel } from './parcel.ts';
import { DEFAULT_POLL_INTERVAL_MS, watchWithPolling } from './poll.ts';
import type { TreeWatcher, WatchTreeOptions } from './types.ts';

/** The poll period `opts.poll` asks for, or null for native notifications. */
export function pollIntervalOf(poll: WatchTreeOptions['poll']): number | null {
  if (!poll) return null;
  return poll === true ? DEFAULT_POLL_INTERVAL_MS : Math.max(1, poll.intervalMs);
}

/**
 * Watches the tree under `root`: native notifications (one inotify watch per
 * directory) unless `opts.poll` asks for stat polling.
 */
export function watchTree(root: string, opts: WatchTreeOptions): TreeWatcher {
  const interval = pollIntervalOf(opts.poll);
  return interval === null ? watchWithParcel(root, opts) : watchWithPolling(root, opts, interval);
}
