/** The watchers the benchmark puts side by side on the tree. */
export const WatcherKind = {
  SKIFF: 'skiff',
  PARCEL: 'parcel',
  CHOKIDAR: 'chokidar',
} as const;
export type WatcherKind = (typeof WatcherKind)[keyof typeof WatcherKind];
