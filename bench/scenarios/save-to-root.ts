import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { rsyncPerSave } from '../reference/rsync-saves.ts';
import { timeSaves } from '../save-loop.ts';
import { loadSessionApi, SessionEventName, type BenchSession } from '../skiff/session-api.ts';
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

/** Pause between saves: longer than any coalescing window, so no two saves share a batch. */
export const SAVE_GAP_MS = 60;
const DAEMON_SAVES_SALT = 0x5a5e03;

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
      session = await startSession({ dir: ctx.tree.root, root });
      await session.ready;
      let batches = 0;
      const off = session.subscribe((event) => {
        if (event === SessionEventName.SYNC_FINISHED) batches++;
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
        ? measured(label, Unit.MS, times.latencyMs, [...latencyNotes(times, `${SAVE_GAP_MS} ms apart`), `${batches} batches for ${ctx.profile.daemonSaves} saves`])
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
