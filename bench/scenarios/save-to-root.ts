import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { rsyncPerSave } from '../reference/rsync-saves.ts';
import { timeSaves } from '../save-loop.ts';
import { loadSessionApi, SessionEventName, type BenchSession } from '../skiff/session-api.ts';
import { summarize } from '../stats.ts';
import { SAVE_TO_ROOT } from '../targets.ts';
import { latencyNotes } from './save-rerun.ts';
import { reason, type Scenario } from './scenario.ts';

/**
 * One file saved → its bytes in the agent root, through the long-running
 * daemon: the watcher sees the save, the session sends it, the agent renames
 * it into place. Saves are spaced so each is a lone save (DESIGN: a lone save
 * flushes at once), at least 200 of them in the full run.
 *
 * Needs: startSession({ dir, root }) → { ready, subscribe, stop } from
 * @skiff/daemon (see skiff/session-api.ts); 'sync.finished' events are
 * counted to show how many batches the saves took.
 */

/**
 * Pause between saves, so that each is a lone save as a person makes them:
 * longer than the native watcher's hold (@parcel/watcher delivers at once
 * only the first change after 500 ms without a delivery, and holds later
 * ones until 50 ms of quiet). Saves closer together are measured by the
 * storm scenario, not here.
 */
export const SAVE_GAP_MS = 550;
const DAEMON_SAVES_SALT = 0x5a5e03;

/**
 * Where a save's time goes, from the session's own events: write → the
 * batch starts (watcher and coalescing), and the batch's reported duration
 * (read, send, apply, confirm).
 */
function phaseNotes(writtenAt: number[], startedAt: number[], syncMs: number[]): string[] {
  const waits: number[] = [];
  for (const written of writtenAt) {
    const start = startedAt.find((t) => t >= written);
    if (start !== undefined) waits.push(start - written);
  }
  if (!waits.length || !syncMs.length) return [];
  const w = summarize(waits);
  const d = summarize(syncMs);
  return [`write → batch started: p50 ${w.median.toFixed(0)} ms, p99 ${w.p99.toFixed(0)} ms; batch duration (sync.finished): p50 ${d.median.toFixed(0)} ms, p99 ${d.p99.toFixed(0)} ms`];
}

export const saveToRoot: Scenario = {
  id: 'save-to-root',
  title: 'one file saved → on disk in the root (daemon)',
  async run(ctx) {
    const label = 'skiff daemon (watcher)';
    let skiff: Measured | Missing;
    const root = await ctx.freshDir('saves-daemon');
    let session: BenchSession | null = null;
    try {
      const startSession = await loadSessionApi();
      const t0 = performance.now();
      session = await startSession({ dir: ctx.tree.root, root });
      await session.ready;
      const readyMs = performance.now() - t0;
      const startedAt: number[] = [];
      const syncMs: number[] = [];
      const off = session.subscribe((event, data) => {
        if (event === SessionEventName.SYNC_STARTED) startedAt.push(performance.now());
        else if (event === SessionEventName.SYNC_FINISHED) syncMs.push((data as { durationMs: number }).durationMs);
      });
      const times = await timeSaves({
        editor: ctx.editor,
        picks: ctx.editor.pick(ctx.profile.daemonSaves, DAEMON_SAVES_SALT),
        destRoot: root,
        propagate: async () => undefined,
        gapMs: SAVE_GAP_MS,
      });
      off();
      skiff = times.latencyMs.length
        ? measured(label, Unit.MS, times.latencyMs, [
            ...latencyNotes(times, `${SAVE_GAP_MS} ms apart`),
            `${syncMs.length} batches for ${ctx.profile.daemonSaves} saves`,
            ...phaseNotes(times.writtenAt, startedAt, syncMs),
            `session ready (watcher, scan with the saved index, initial sync into an empty root) in ${(readyMs / 1000).toFixed(2)} s`,
          ])
        : { label, missing: times.failures[0] ?? 'no save arrived' };
    } catch (err) {
      skiff = { label, missing: reason(err) };
    } finally {
      await session?.stop();
      await removeDir(root);
    }
    const rsync = await rsyncPerSave(ctx);
    const comparison: Comparison = {
      id: 'save-to-root',
      title: 'one file saved → on disk in the root',
      shape: Shape.LATENCY,
      skiff,
      reference: [measured('rsync re-run per save', Unit.MS, rsync.latencyMs, latencyNotes(rsync, 'a smaller count: each rescans the whole tree'))],
      targets: SAVE_TO_ROOT,
    };
    return [comparison];
  },
};
