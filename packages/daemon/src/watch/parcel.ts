import { readdir, lstat, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import parcelWatcher from '@parcel/watcher';
import { checkRelPath, ErrorCode, parentOf, SkiffError } from '@skiff/protocol';
import { LEADING_MAX_PATHS } from '../core/coalesce.ts';
import { BurstProbe, PROBE_MAX_DIRS } from './burst-probe.ts';
import { expandNewDir, NewDirRecheck } from './new-dirs.ts';
import { NativeHold } from './native-hold.ts';
import { PathFilter } from './path-filter.ts';
import { WatchEventKind, type TreeWatcher, type WatchEvent, type WatchTreeOptions } from './types.ts';
import { callSafely, toWatchError } from './watch-error.ts';
import { toWirePath } from './wire-path.ts';

/**
 * Directories always offered to the native watcher's own ignore list (when
 * the caller's rules ignore them, which the defaults do): never descended
 * into, never given an inotify watch. Everything else is filtered in
 * JavaScript, because the native list cannot express gitignore rules.
 */
export const NATIVE_IGNORE_CANDIDATES: readonly string[] = ['.git', '.skiff', '.odo'];

const KIND: Record<parcelWatcher.EventType, WatchEvent['kind']> = {
  create: WatchEventKind.CREATE,
  update: WatchEventKind.UPDATE,
  delete: WatchEventKind.DELETE,
};

/**
 * The directories the native watcher can skip outright: the candidates, the
 * root's own subdirectories and the caller's known ignored directories, each
 * kept only when the caller's rules ignore it. Static for the life of the
 * subscription (see WatchTreeOptions.ignoredDirs).
 */
async function nativeIgnores(absRoot: string, filter: PathFilter, known: readonly string[]): Promise<string[]> {
  const candidates = new Set<string>([...NATIVE_IGNORE_CANDIDATES, ...known.filter((rel) => checkRelPath(rel) === null)]);
  try {
    for (const entry of await readdir(absRoot, { withFileTypes: true })) {
      if (entry.isDirectory()) candidates.add(entry.name);
    }
  } catch {
    // The subscription itself reports an unreadable root.
  }
  return [...candidates].filter((rel) => filter.dirIgnored(rel)).map((rel) => resolve(absRoot, rel));
}

/** Number of segments above a wire path's last one; -1 for the root (''). */
function depth(rel: string): number {
  if (rel === '') return -1;
  let n = 0;
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) n++;
  return n;
}

/**
 * The default backend: @parcel/watcher, one inotify watch per directory,
 * events delivered in batches by its native thread.
 *
 * Each delivery is turned into wire events in order, one delivery at a time
 * (a promise chain, so that a slow listing never reorders deliveries):
 * creates are lstat'ed to learn whether they are directories (the rules may
 * depend on it, and a new directory's content must be listed, see
 * expandNewDir); updates and deletes are filtered without a stat.
 *
 * With `onActivity`, a BurstProbe and a NativeHold run beside it: the native
 * watcher sends the first write of a storm at once and holds the rest, and
 * those two are how the coalescer learns, within its leading window, that
 * more is coming (see their files).
 */
export function watchWithParcel(root: string, opts: WatchTreeOptions): TreeWatcher {
  const filter = new PathFilter(opts.isIgnored);
  let absRoot = resolve(root);
  let closed = false;
  let subscription: parcelWatcher.AsyncSubscription | null = null;
  let chain: Promise<void> = Promise.resolve();
  let probe: BurstProbe | null = null;
  let recheck: NewDirRecheck | null = null;
  const hold = opts.onActivity ? new NativeHold(() => signalActivity()) : null;

  const report = (err: unknown) => {
    if (!closed) callSafely(() => opts.onError(toWatchError(err, absRoot)), () => {}, absRoot);
  };
  const signalActivity = () => {
    if (!closed && opts.onActivity) callSafely(() => opts.onActivity!(), opts.onError, absRoot);
  };

  /** A create, once lstat'ed: itself unless ignored, and what a new directory holds. */
  const createEvents = async (absPath: string, rel: string): Promise<WatchEvent[]> => {
    const stats = await lstat(absPath).catch(() => null);
    const isDir = stats?.isDirectory() ?? false;
    if (stats ? filter.ignored(rel, isDir) : filter.ignoredAnyKind(rel)) return [];
    const out: WatchEvent[] = [{ kind: WatchEventKind.CREATE, path: rel }];
    if (isDir) {
      probe?.touch(rel);
      for (const path of await expandNewDir(absRoot, rel, filter)) out.push({ kind: WatchEventKind.CREATE, path });
      recheck?.schedule(rel);
    }
    return out;
  };

  /** `rels[i]` is the wire path of `events[i]`, or null to drop it. */
  const handleDelivery = async (events: parcelWatcher.Event[], rels: Array<string | null>) => {
    const slots: Array<WatchEvent[] | Promise<WatchEvent[]>> = [];
    events.forEach((event, i) => {
      const rel = rels[i];
      if (rel === null) return;
      const kind = KIND[event.type];
      if (kind === WatchEventKind.CREATE) slots.push(createEvents(event.path, rel));
      else if (!filter.ignoredAnyKind(rel)) slots.push([{ kind, path: rel }]);
    });
    const perEvent = await Promise.all(slots);
    if (closed) return;
    const out = perEvent.flat();
    recheck?.saw(out.map((e) => e.path));
    if (out.length > 0) callSafely(() => opts.onEvents(out), opts.onError, absRoot);
  };

  // Runs on the JavaScript thread from the native one; a throw here would be
  // a fatal exception, so nothing in it may throw.
  const onNative = (err: Error | null, events: parcelWatcher.Event[]) => {
    if (closed) return;
    if (err) {
      // The native side has dropped this subscription: report, and let the
      // caller rescan and recreate.
      report(err);
      return;
    }
    let rels: Array<string | null> = [];
    try {
      if (events.some((event) => event.type === 'delete' && event.path === absRoot)) {
        report(new SkiffError(ErrorCode.IO, `the watched directory ${absRoot} was removed or moved away; nothing under it is watched any more`));
      }
      rels = events.map((event) => toWirePath(absRoot, event.path));
      hold?.deliveryArrived();
      if (probe) armProbe(rels);
    } catch (e) {
      report(e);
    }
    chain = chain
      .then(() => handleDelivery(events, rels))
      .catch(report)
      .finally(() => hold?.deliveryProcessed());
  };

  // Armed before the delivery is processed: the leading window is a few
  // milliseconds, and a storm's next writes are already under way.
  const armProbe = (rels: Array<string | null>) => {
    const paths = new Set<string>();
    const dirs = new Set<string>();
    for (const rel of rels) {
      if (rel === null) continue;
      paths.add(rel);
      dirs.add(parentOf(rel));
    }
    probe!.delivery(paths);
    // Shallowest last, so the least likely to be dropped: a storm that
    // creates directories shows up in their parent, while a deep directory
    // only tells about itself.
    // Only as many as the probe holds: a storm's delivery may name thousands.
    const byDepth = [...dirs].filter((dir) => dir === '' || !filter.dirIgnored(dir));
    byDepth.sort((a, b) => depth(b) - depth(a));
    byDepth.splice(0, Math.max(0, byDepth.length - PROBE_MAX_DIRS));
    // A small delivery is where a storm can pass for a lone save (a larger
    // one is a storm to the coalescer already): probe where it goes next.
    if (paths.size <= LEADING_MAX_PATHS) {
      for (const dir of byDepth) void probe!.touchWithSiblings(dir).catch(report);
    } else {
      for (const dir of byDepth) probe!.touch(dir);
    }
  };

  const ready = (async () => {
    try {
      absRoot = await realpath(absRoot);
      recheck = new NewDirRecheck(absRoot, filter, (paths) => {
        if (!closed) callSafely(() => opts.onEvents(paths.map((path) => ({ kind: WatchEventKind.CREATE, path }))), opts.onError, absRoot);
      });
      if (hold) probe = new BurstProbe(absRoot, filter, () => hold.rawActivity());
      const ignore = await nativeIgnores(absRoot, filter, opts.ignoredDirs ?? []);
      const sub = await parcelWatcher.subscribe(absRoot, onNative, { ignore });
      if (closed) await sub.unsubscribe();
      else subscription = sub;
    } catch (err) {
      throw toWatchError(err, absRoot);
    }
  })();
  ready.catch(() => {});

  return {
    ready,
    async close() {
      if (closed) return;
      closed = true;
      probe?.close();
      hold?.close();
      recheck?.close();
      await ready.catch(() => {});
      const sub = subscription;
      subscription = null;
      await sub?.unsubscribe().catch(() => {});
      await chain;
    },
  };
}
