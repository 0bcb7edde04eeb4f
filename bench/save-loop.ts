import { join } from 'node:path';
import { watchArrivals } from './arrival.ts';
import type { Editor } from './edits.ts';

/**
 * Times saves one at a time: watch the destination for the new bytes, write
 * the file in the source, make the change travel (`propagate`: re-run a tool,
 * or nothing when a daemon watches), and take the moment the bytes are in the
 * destination. Latency is write → bytes seen, for every way of syncing alike.
 */

/** A save that has not arrived by then is a failure, not a slow sample. */
export const SAVE_TIMEOUT_MS = 30_000;

export interface SaveTimes {
  /** Write → bytes in the destination, per save. */
  latencyMs: number[];
  /** performance.now() of each arrived save's write, to line up with a daemon's events. */
  writtenAt: number[];
  /** Duration of `propagate` per save, when it is a command (the tool's whole run). */
  runMs: number[];
  failures: string[];
}

export interface SaveLoopOptions {
  editor: Editor;
  picks: readonly number[];
  destRoot: string;
  /** Called right after each write; resolves when the tool is done (its return value, if a number, is its run time). */
  propagate(): Promise<number | void>;
  /** Pause after each arrival, so every save is a lone save and not part of a burst. */
  gapMs?: number;
  onSave?(done: number, latencyMs: number): void;
}

export async function timeSaves(opts: SaveLoopOptions): Promise<SaveTimes> {
  const times: SaveTimes = { latencyMs: [], writtenAt: [], runMs: [], failures: [] };
  for (const index of opts.picks) {
    const save = opts.editor.next(index);
    const arrivals = watchArrivals([{ path: join(opts.destRoot, save.rel), bytes: save.bytes }], SAVE_TIMEOUT_MS);
    const written = performance.now();
    save.write();
    try {
      const [arrivedAt, ran] = await Promise.all([arrivals.all, opts.propagate()]);
      times.latencyMs.push(arrivedAt - written);
      times.writtenAt.push(written);
      if (typeof ran === 'number') times.runMs.push(ran);
      opts.onSave?.(times.latencyMs.length, arrivedAt - written);
    } catch (err) {
      arrivals.close();
      times.failures.push(`${save.rel}: ${(err as Error).message.split('\n')[0]}`);
    }
    if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
  }
  return times;
}
