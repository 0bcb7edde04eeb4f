import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Detects the moment saved bytes are in a destination tree. One fs.watch per
 * destination directory (inotify underneath) reacts to the rename or write
 * that lands a file; each event re-checks that file's size, then its bytes.
 * A slow safety sweep covers anything an event could miss (a directory that
 * appears later, an event coalesced away), so a missed event costs at most
 * one sweep interval, never a hang. Watches are opened before the edit is
 * made: subscribe first, then act.
 */

/** Interval of the safety sweep over files not yet seen. */
export const SWEEP_MS = 25;
/** Above this many files a sweep costs real CPU next to the tool being timed, so it runs less often. */
const MANY_FILES = 50;
const SLOW_SWEEP_MS = 500;

export interface Expectation {
  /** Absolute path in the destination. */
  path: string;
  bytes: Buffer;
}

export interface Arrivals {
  /** Resolves with performance.now() at which the last expected file was seen complete; rejects on timeout. */
  all: Promise<number>;
  /** performance.now() per path, for files seen so far. */
  seen: Map<string, number>;
  close(): void;
}

function holds(path: string, bytes: Buffer): boolean {
  try {
    if (statSync(path).size !== bytes.length) return false;
    return readFileSync(path).equals(bytes);
  } catch {
    return false; // not there yet, or renamed over while we read
  }
}

export function watchArrivals(expected: readonly Expectation[], timeoutMs: number): Arrivals {
  const pending = new Map(expected.map((e) => [e.path, e.bytes]));
  const byDir = new Map<string, Set<string>>();
  for (const { path } of expected) {
    const dir = dirname(path);
    if (!byDir.has(dir)) byDir.set(dir, new Set());
    byDir.get(dir)!.add(basename(path));
  }
  const seen = new Map<string, number>();
  const watchers: FSWatcher[] = [];
  let sweep: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let settle: { resolve(t: number): void; reject(e: Error): void } | undefined;

  const close = () => {
    for (const w of watchers) w.close();
    watchers.length = 0;
    clearInterval(sweep);
    clearTimeout(deadline);
  };
  const check = (path: string) => {
    const bytes = pending.get(path);
    if (!bytes || !holds(path, bytes)) return;
    const at = performance.now();
    pending.delete(path);
    seen.set(path, at);
    if (pending.size === 0) {
      close();
      settle?.resolve(at);
    }
  };

  const all = new Promise<number>((resolve, reject) => {
    settle = { resolve, reject };
  });
  for (const [dir, names] of byDir) {
    try {
      const watcher = watch(dir, (_event, name) => {
        if (name === null) for (const n of names) check(`${dir}/${n}`);
        else if (names.has(name.toString())) check(`${dir}/${name}`);
      });
      watcher.on('error', () => undefined); // the sweep still covers this directory
      watchers.push(watcher);
    } catch {
      // Directory not there yet: the sweep finds its files once it appears.
    }
  }
  sweep = setInterval(() => {
    for (const path of [...pending.keys()]) check(path);
  }, expected.length > MANY_FILES ? SLOW_SWEEP_MS : SWEEP_MS);
  deadline = setTimeout(() => {
    close();
    settle?.reject(new Error(`${pending.size} of ${expected.length} file(s) not in the destination within ${timeoutMs} ms, e.g. ${pending.keys().next().value}`));
  }, timeoutMs);
  // Already there (a no-op edit): resolve at once rather than wait for an event that never comes.
  for (const path of [...pending.keys()]) check(path);
  return { all, seen, close };
}
