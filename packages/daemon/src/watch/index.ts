export { Batcher, BatchVerdict, pollWindows, watchBatches, type BatchInfo, type BatcherOptions, type WatchBatchesOptions } from './batcher.ts';
export { BurstProbe, PROBE_IDLE_MS, PROBE_MAX_DIRS, PROBE_SIBLINGS } from './burst-probe.ts';
export { EXPAND_CONCURRENCY, expandNewDir, NEW_DIR_RECHECK_MS, NewDirRecheck } from './new-dirs.ts';
export { gitBusy } from './git-busy.ts';
export { NATIVE_HOLD_MAX_MS, NativeHold, OWED_HEARTBEAT_MS } from './native-hold.ts';
export { NATIVE_IGNORE_CANDIDATES, watchWithParcel } from './parcel.ts';
export { FILTER_CACHE_MAX, FILTER_CACHE_MS, PathFilter } from './path-filter.ts';
export { DEFAULT_POLL_INTERVAL_MS, watchWithPolling } from './poll.ts';
export {
  WatchEventKind,
  type IsIgnored,
  type PollOptions,
  type TreeWatcher,
  type WatchEvent,
  type WatchTreeOptions,
} from './types.ts';
export { callSafely, SUGGESTED_MAX_USER_INSTANCES, SUGGESTED_MAX_USER_WATCHES, toWatchError } from './watch-error.ts';
export { pollIntervalOf, watchTree } from './watch-tree.ts';
export { joinWire, toWirePath } from './wire-path.ts';
