import { join } from 'node:path';
import { watchArrivals, type Arrivals } from '../arrival.ts';
import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { SAVE_TIMEOUT_MS } from '../save-loop.ts';
import { loadSessionApi, SessionEventName, type BenchSession } from '../skiff/session-api.ts';
import { summarize } from '../stats.ts';
import { RAPID_SAVES } from '../targets.ts';
import { reason, type Context, type Scenario } from './scenario.ts';

/**
 * Saves that come 30 ms apart → their bytes in the agent's root, through the
 * long-running daemon. A person saving several files in a row (save all, a
 * formatter rewriting what it touched) makes trains of saves closer together
 * than the native watcher's own 50 ms quiet window, and after the first one
 * @parcel/watcher holds the others until 50 ms of quiet or 500 ms since its
 * last delivery. Each train is SAVES_PER_TRAIN saves of distinct files picked
 * anywhere in the tree, SAVE_SPACING_MS apart; trains are TRAIN_GAP_MS apart.
 * Latency is each save's write → its bytes in the root, for every save.
 */

export const SAVE_SPACING_MS = 30;
export const SAVES_PER_TRAIN = 5;
/** After a train's last arrival: longer than the native watcher's 500 ms hold, so trains do not run into each other. */
export const TRAIN_GAP_MS = 600;
const RAPID_SALT = 0x5a5e30;

const LABEL = 'skiff daemon (watcher)';

function sleepUntil(t: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, t - performance.now())));
}

interface Trains {
  latencyMs: number[];
  /** Achieved spacing between consecutive writes of a train. */
  spacingMs: number[];
  failures: string[];
}

async function runTrains(ctx: Context, root: string): Promise<Trains> {
  const out: Trains = { latencyMs: [], spacingMs: [], failures: [] };
  const picks = ctx.editor.pick(ctx.profile.daemonSaves, RAPID_SALT);
  for (let at = 0; at < picks.length; at += SAVES_PER_TRAIN) {
    const train = picks.slice(at, at + SAVES_PER_TRAIN).map((i) => ctx.editor.next(i));
    const pending: Array<{ rel: string; written: number; arrivals: Arrivals }> = [];
    const start = performance.now();
    for (let k = 0; k < train.length; k++) {
      await sleepUntil(start + k * SAVE_SPACING_MS);
      const save = train[k];
      const arrivals = watchArrivals([{ path: join(root, save.rel), bytes: save.bytes }], SAVE_TIMEOUT_MS);
      const written = performance.now();
      save.write();
      if (pending.length) out.spacingMs.push(written - pending[pending.length - 1].written);
      pending.push({ rel: save.rel, written, arrivals });
    }
    for (const p of pending) {
      try {
        out.latencyMs.push((await p.arrivals.all) - p.written);
      } catch (err) {
        out.failures.push(`${p.rel}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    await new Promise((r) => setTimeout(r, TRAIN_GAP_MS));
  }
  return out;
}

export const rapidSaves: Scenario = {
  id: 'rapid-saves',
  title: 'saves 30 ms apart → on disk in the root (daemon)',
  async run(ctx) {
    let skiff: Measured | Missing;
    const root = await ctx.freshDir('rapid-daemon');
    let session: BenchSession | null = null;
    try {
      const startSession = await loadSessionApi();
      session = await startSession({ dir: ctx.tree.root, root });
      await session.ready;
      let batches = 0;
      const off = session.subscribe((event) => {
        if (event === SessionEventName.SYNC_FINISHED) batches++;
      });
      const trains = await runTrains(ctx, root);
      off();
      const spacing = summarize(trains.spacingMs);
      skiff = trains.latencyMs.length
        ? measured(LABEL, Unit.MS, trains.latencyMs, [
            `${trains.latencyMs.length} saves in trains of ${SAVES_PER_TRAIN}, ${SAVE_SPACING_MS} ms apart (achieved p50 ${spacing.median.toFixed(1)} ms, max ${spacing.max.toFixed(1)} ms), trains ${TRAIN_GAP_MS} ms apart`,
            `${batches} batches`,
            ...(trains.failures.length ? [`${trains.failures.length} save(s) never arrived, e.g. ${trains.failures[0]}`] : []),
          ])
        : { label: LABEL, missing: trains.failures[0] ?? 'no save arrived' };
    } catch (err) {
      skiff = { label: LABEL, missing: reason(err) };
    } finally {
      await session?.stop();
      await removeDir(root);
    }
    const comparison: Comparison = {
      id: 'rapid-saves',
      title: 'saves 30 ms apart → on disk in the root',
      shape: Shape.LATENCY,
      skiff,
      reference: [],
      targets: RAPID_SAVES,
    };
    return [comparison];
  },
};
