import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Stats } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import { PathFilter } from './path-filter.ts';
import { WatchEventKind, type TreeWatcher, type WatchEvent, type WatchTreeOptions } from './types.ts';
import { callSafely, toWatchError } from './watch-error.ts';
import { toWirePath } from './wire-path.ts';

/** Stat polling period when `poll: true` (chokidar's own default is 100 ms). */
export const DEFAULT_POLL_INTERVAL_MS = 250;

const KIND = {
  add: WatchEventKind.CREATE,
  addDir: WatchEventKind.CREATE,
  change: WatchEventKind.UPDATE,
  unlink: WatchEventKind.DELETE,
  unlinkDir: WatchEventKind.DELETE,
} as const satisfies Record<string, WatchEvent['kind']>;

/**
 * The polling backend: chokidar with `usePolling`, for file systems that
 * send no kernel notifications (network mounts, WSL's view of Windows
 * drives). Every file and directory is stat'ed each `intervalMs`, so it is
 * for trees of thousands of files, not hundreds of thousands.
 *
 * The caller's rules go into chokidar's `ignored` function, so an ignored
 * directory is never walked nor polled. chokidar reports one event at a
 * time; the events of one turn of the event loop go out together.
 */
export function watchWithPolling(root: string, opts: WatchTreeOptions, intervalMs: number): TreeWatcher {
  const filter = new PathFilter(opts.isIgnored);
  let absRoot = resolve(root);
  let closed = false;
  let watcher: FSWatcher | null = null;
  let buffer: WatchEvent[] = [];
  let flushScheduled: NodeJS.Immediate | null = null;

  const report = (err: unknown) => {
    if (!closed) callSafely(() => opts.onError(toWatchError(err, absRoot)), () => {}, absRoot);
  };

  const flush = () => {
    flushScheduled = null;
    const out = buffer;
    buffer = [];
    if (!closed && out.length > 0) callSafely(() => opts.onEvents(out), opts.onError, absRoot);
  };

  const ignored = (path: string, stats?: Stats): boolean => {
    if (path === absRoot) return false;
    const rel = toWirePath(absRoot, path);
    if (rel === null) return true; // outside the root or an invalid wire path: never walked
    return stats ? filter.ignored(rel, stats.isDirectory()) : filter.ignoredAnyKind(rel);
  };

  const onAll = (event: string, path: string) => {
    try {
      const kind = KIND[event as keyof typeof KIND];
      if (closed || kind === undefined) return;
      const rel = toWirePath(absRoot, path);
      if (rel === null) return;
      buffer.push({ kind, path: rel });
      flushScheduled ??= setImmediate(flush);
    } catch (err) {
      report(err);
    }
  };

  const ready = (async () => {
    try {
      absRoot = await realpath(absRoot);
    } catch (err) {
      throw toWatchError(err, absRoot);
    }
    if (closed) return;
    const w = watch(absRoot, {
      usePolling: true,
      interval: intervalMs,
      binaryInterval: intervalMs,
      ignoreInitial: true,
      followSymlinks: false,
      atomic: false,
      ignorePermissionErrors: true,
      ignored,
    });
    watcher = w;
    w.on('all', onAll);
    await new Promise<void>((resolveReady, rejectReady) => {
      const onStartError = (err: unknown) => rejectReady(toWatchError(err, absRoot));
      w.once('error', onStartError);
      w.once('ready', () => {
        w.off('error', onStartError);
        w.on('error', report);
        resolveReady();
      });
    });
    // chokidar is ready once it has listed the tree, but each poller takes
    // its baseline (the first stat, which a change is compared with) on the
    // thread pool afterwards: a change made before that baseline is never
    // reported. One period later every baseline of a tree this backend is
    // meant for has been taken, so "ready" keeps its promise.
    await new Promise((resolveBaseline) => setTimeout(resolveBaseline, intervalMs));
  })();
  ready.catch(() => {});

  return {
    ready,
    async close() {
      if (closed) return;
      closed = true;
      if (flushScheduled) clearImmediate(flushScheduled);
      buffer = [];
      await watcher?.close().catch(() => {});
    },
  };
}
