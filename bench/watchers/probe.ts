import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { track } from '../cleanup.ts';
import { inotifyWatchesOf, memoryOf, waitExit } from '../proc.ts';
import type { WatcherKind } from './kinds.ts';

/**
 * Runs one bundled watcher probe on the tree and reads its footprint while it
 * is ready and idle: ready time (measured inside the probe, from the watch
 * call to ready, so node's own start is left out for every watcher alike),
 * RSS, peak RSS, inotify watches, and the delay until it reports a file
 * created after ready (proof that it is live, not only fast to say ready).
 */

const READY_TIMEOUT_MS = 180_000;
const FIRST_EVENT_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 5_000;

export interface WatcherFigures {
  readyMs: number;
  rssMiB: number;
  peakMiB: number;
  /** RSS of the probe before it started watching: node itself and the loaded library. */
  baselineMiB: number;
  watches: number;
  /** null when no event arrived within FIRST_EVENT_TIMEOUT_MS. */
  firstEventMs: number | null;
}

export async function probeWatcher(bundle: string, kind: WatcherKind, root: string, touchDir: string, run: number): Promise<WatcherFigures> {
  const child = spawn(process.execPath, [bundle, root], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const lines = createInterface({ input: child.stdout! });
  const waiters: Array<(msg: Record<string, unknown>) => void> = [];
  lines.on('line', (line) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // a library printing to stdout
    }
    for (const w of waiters.splice(0)) w(msg);
  });
  const next = (event: string, timeoutMs: number) =>
    new Promise<Record<string, unknown> | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        resolve(null);
      }, timeoutMs);
      const onExit = () => reject(new Error(`the ${kind} probe exited before "${event}": ${stderr.trim()}`));
      child.once('exit', onExit);
      const wait = (msg: Record<string, unknown>) => {
        if (msg.event === 'failed') {
          clearTimeout(timer);
          child.off('exit', onExit);
          reject(new Error(`the ${kind} watcher failed: ${String(msg.message)}`));
        } else if (msg.event === event) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve(msg);
        } else waiters.push(wait);
      };
      waiters.push(wait);
    });

  const probeFile = join(touchDir, `.watch-probe-${kind}-${run}.txt`);
  try {
    const ready = await next('ready', READY_TIMEOUT_MS);
    if (!ready) throw new Error(`the ${kind} watcher was not ready within ${READY_TIMEOUT_MS} ms`);
    const { rssMiB, peakMiB } = memoryOf(child.pid!);
    const watches = inotifyWatchesOf(child.pid!);
    const seenWait = next('seen', FIRST_EVENT_TIMEOUT_MS);
    seenWait.catch(() => undefined); // awaited below; this only keeps an early exit from being an unhandled rejection
    const touched = performance.now();
    await writeFile(probeFile, `${kind} ${run}\n`);
    const seen = await seenWait;
    return {
      readyMs: Number(ready.readyMs),
      rssMiB,
      peakMiB,
      baselineMiB: Number(ready.baselineMiB),
      watches,
      firstEventMs: seen ? performance.now() - touched : null,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await waitExit(child);
    clearTimeout(timer);
    await rm(probeFile, { force: true });
  }
}
