import { readFileSync } from 'node:fs';
import { WatcherKind } from './kinds.ts';

/**
 * The body of a watcher probe process. It starts one watcher on the tree,
 * prints `{"event":"ready",...}` once the watcher says every directory is
 * watched, then one `{"event":"seen"}` on the first change it is told about,
 * and closes the watcher on SIGTERM. The parent reads RSS and inotify watches
 * from /proc while the watcher is ready and idle. It runs bundled on plain
 * node, as the daemon ships, so no TypeScript loader weighs on its memory.
 */

interface Running {
  close(): Promise<unknown> | void;
}

type Library = Record<string, unknown>;

const rssMiB = () => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN) / 1024;

function say(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

let seenOnce = false;
function onChange(): void {
  if (seenOnce) return;
  seenOnce = true;
  say({ event: 'seen' });
}

/** State dir the daemon never syncs; the other watchers are not told about it, which only costs them. */
const SKIFF_STATE_DIR = '.skiff';

async function start(kind: WatcherKind, lib: Library, root: string): Promise<Running> {
  if (kind === WatcherKind.SKIFF) {
    // packages/daemon/src/watch: watchTree(root, { isIgnored, onEvents, onError }) → { ready, close }
    const watchTree = lib.watchTree as (root: string, opts: Record<string, unknown>) => { ready: Promise<void>; close(): Promise<void> };
    if (typeof watchTree !== 'function') throw new Error('the watch module has no watchTree export');
    const watcher = watchTree(root, {
      isIgnored: (rel: string) => rel === SKIFF_STATE_DIR || rel.startsWith(`${SKIFF_STATE_DIR}/`),
      onEvents: onChange,
      onError: (err: Error) => say({ event: 'error', message: err.message }),
    });
    await watcher.ready;
    return watcher;
  }
  if (kind === WatcherKind.PARCEL) {
    const subscribe = lib.subscribe as (root: string, cb: (err: Error | null, events: unknown[]) => void) => Promise<{ unsubscribe(): Promise<void> }>;
    const subscription = await subscribe(root, (err) => (err ? say({ event: 'error', message: err.message }) : onChange()));
    return { close: () => subscription.unsubscribe() };
  }
  // chokidar: ignoreInitial because a sync daemon needs no "add" per existing file; ready still waits for the full walk.
  const watch = lib.watch as (root: string, opts: Record<string, unknown>) => {
    on(event: string, cb: (...args: unknown[]) => void): unknown;
    close(): Promise<void>;
  };
  const watcher = watch(root, { ignoreInitial: true, persistent: true });
  await new Promise<void>((resolve, reject) => {
    watcher.on('ready', () => resolve());
    watcher.on('error', (err) => reject(err as Error));
  });
  watcher.on('all', onChange);
  return watcher;
}

export async function runProbe(kind: WatcherKind, lib: Library): Promise<void> {
  const root = process.argv[2];
  const baselineMiB = rssMiB();
  const started = performance.now();
  let running: Running;
  try {
    running = await start(kind, lib, root);
  } catch (err) {
    say({ event: 'failed', message: (err as Error).message });
    process.exit(1);
  }
  say({ event: 'ready', readyMs: performance.now() - started, baselineMiB });
  process.once('SIGTERM', () => {
    void Promise.resolve(running.close()).finally(() => process.exit(0));
  });
}
