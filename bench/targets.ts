import { TargetKind, type Target } from './figures.ts';

/** DESIGN's "How fast" targets, the only place they are written down in the benchmark. */

export const FIRST_SYNC: Target[] = [{ kind: TargetKind.RATIO, stat: 'median', value: 1.0, text: '≤ 1.0x rsync' }];

export const SAVE_TO_ROOT: Target[] = [
  { kind: TargetKind.AT_MOST, stat: 'median', value: 10, text: 'p50 ≤ 10 ms' },
  { kind: TargetKind.AT_MOST, stat: 'p99', value: 50, text: 'p99 ≤ 50 ms' },
];

export const WATCHER_READY: Target[] = [{ kind: TargetKind.AT_MOST, stat: 'median', value: 1000, text: '< 1 s' }];

export const WATCHER_RSS: Target[] = [{ kind: TargetKind.AT_MOST, stat: 'max', value: 150, text: '< 150 MiB' }];

/** One inotify watch per directory of the tree: the count comes from the tree of this run. */
export function watcherWatches(dirs: number): Target[] {
  return [{ kind: TargetKind.AT_MOST, stat: 'max', value: dirs, text: `≤ ${dirs.toLocaleString('en-US')} (one per directory)` }];
}

export const SAVE_TO_HTTP: Target[] = [{ kind: TargetKind.AT_MOST, stat: 'median', value: 300, text: 'p50 < 300 ms' }];

/** "A storm (git checkout, npm install) becomes one batch"; the app restarts once per batch. */
export const STORM_BATCHES: Target[] = [{ kind: TargetKind.AT_MOST, stat: 'max', value: 1, text: 'one batch' }];
export const STORM_RESTARTS: Target[] = [{ kind: TargetKind.AT_MOST, stat: 'max', value: 1, text: 'one restart' }];

/** "Hash: never the bottleneck": at least as fast as the floor copies bytes. */
export function hashRate(floorGBps: number): Target[] {
  return [{ kind: TargetKind.AT_LEAST, stat: 'median', value: floorGBps, text: '≥ the tar pipe floor' }];
}

/** "First sync into a container: at most docker cp's time" (the tar path peers use). */
export const DOCKER_FIRST_SYNC: Target[] = [{ kind: TargetKind.RATIO, stat: 'median', value: 1.0, text: '≤ 1.0x docker cp' }];

/** "First sync into a container: at most theirs" — for a pod, kubectl cp (tar over exec). */
export const CLUSTER_FIRST_SYNC: Target[] = [{ kind: TargetKind.RATIO, stat: 'median', value: 1.0, text: '≤ 1.0x kubectl cp' }];

/** "`skiff push` one-shot, nothing changed, agent freshly started: at most rsync's time." */
export const PUSH_ONESHOT: Target[] = [{ kind: TargetKind.RATIO, stat: 'median', value: 1.0, text: '≤ 1.0x rsync' }];

/**
 * A push in a new process with nothing changed (agent kept running, or restarted before it) is a one-shot push:
 * DESIGN's target for that is at most rsync's time (kept running, the agent has no start to pay).
 */
export const NO_CHANGE: Target[] = PUSH_ONESHOT;

/** "Nothing changed, daemon and agent kept running: a tenth of rsync's." */
export const SESSION_NO_CHANGE: Target[] = [{ kind: TargetKind.RATIO, stat: 'median', value: 0.1, text: '≤ 0.1x rsync' }];

/** "Saves 30 ms apart → on disk in the root: p50 20 ms, p99 100 ms." */
export const RAPID_SAVES: Target[] = [
  { kind: TargetKind.AT_MOST, stat: 'median', value: 20, text: 'p50 ≤ 20 ms' },
  { kind: TargetKind.AT_MOST, stat: 'p99', value: 100, text: 'p99 ≤ 100 ms' },
];

/** "6 bytes changed in a 500 MiB file": at most 1% of the file sent, in at most rsync's time. */
export function deltaBytes(fileMiB: number): Target[] {
  return [{ kind: TargetKind.AT_MOST, stat: 'median', value: fileMiB / 100, text: `≤ 1% of the file (${(fileMiB / 100).toFixed(2)} MiB)` }];
}
export const DELTA_TIME: Target[] = [{ kind: TargetKind.RATIO, stat: 'median', value: 1.0, text: '≤ 1.0x rsync' }];

/** A sparse file stays sparse: the agent's copy takes no more disk than the source's plus one MiB of slack. */
export function sparseAllocation(sourceMiB: number): Target[] {
  return [{ kind: TargetKind.AT_MOST, stat: 'max', value: sourceMiB + 1, text: `≤ the source's ${sourceMiB.toFixed(1)} MiB + 1 MiB` }];
}
