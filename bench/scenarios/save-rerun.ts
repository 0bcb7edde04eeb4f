import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { rsyncPerSave } from '../reference/rsync-saves.ts';
import { timeSaves, type SaveTimes } from '../save-loop.ts';
import { loadPushApi } from '../skiff/push-api.ts';
import { summarize } from '../stats.ts';
import { reason, type Context, type Scenario } from './scenario.ts';

/**
 * One file saved, synced by re-running a one-shot tool: rsync, and skiff's
 * push (runPush in this process, the agent kept running, the saved index
 * reused so only the saved file is re-read). This is what a user without the
 * daemon would do; DESIGN sets no target for it, it shows what the daemon's
 * watcher must beat. The daemon's own figure is in save-to-root.
 */

const PUSH_SAVES_SALT = 0x5a5e02;
const PUSH_TIMEOUT_MS = 120_000;

export function latencyNotes(times: SaveTimes, what: string): string[] {
  const notes = [`${times.latencyMs.length} saves, ${what}`];
  if (times.runMs.length) notes.push(`whole run per save: median ${summarize(times.runMs).median.toFixed(0)} ms`);
  if (times.failures.length) notes.push(`${times.failures.length} save(s) never arrived, e.g. ${times.failures[0]}`);
  return notes;
}

async function skiffPushPerSave(ctx: Context): Promise<Measured | Missing> {
  const label = 'skiff push re-run per save';
  const root = await ctx.freshDir('saves-push');
  try {
    const api = await loadPushApi();
    const agent = await api.startLocalAgent({ root });
    try {
      const push = () =>
        api.runPush({ dir: ctx.tree.root, timeoutMs: PUSH_TIMEOUT_MS, connect: () => api.AgentClient.connect(agent.url, agent.token) });
      await push(); // fills the root and saves the index the re-runs start from
      const times = await timeSaves({
        editor: ctx.editor,
        picks: ctx.editor.pick(ctx.profile.rerunSaves, PUSH_SAVES_SALT),
        destRoot: root,
        propagate: async () => {
          const t0 = performance.now();
          await push();
          return performance.now() - t0;
        },
      });
      if (!times.latencyMs.length) return { label, missing: times.failures[0] ?? 'no save arrived' };
      return measured(label, Unit.MS, times.latencyMs, latencyNotes(times, 'each a runPush in this process with the saved index'), { runMs: times.runMs });
    } finally {
      await agent.stop();
    }
  } catch (err) {
    return { label, missing: reason(err) };
  } finally {
    await removeDir(root);
  }
}

export const saveRerun: Scenario = {
  id: 'save-rerun',
  title: 'one file saved, synced by re-running a one-shot tool',
  async run(ctx) {
    const rsync = await rsyncPerSave(ctx);
    ctx.log(`save, rsync re-run: p50 ${summarize(rsync.latencyMs).median.toFixed(0)} ms over ${rsync.latencyMs.length} saves`);
    const skiff = await skiffPushPerSave(ctx);
    const comparison: Comparison = {
      id: 'save-rerun',
      title: 'one file saved → in the root, by a re-run per save',
      shape: Shape.LATENCY,
      skiff,
      reference: [measured('rsync re-run per save', Unit.MS, rsync.latencyMs, latencyNotes(rsync, 'a smaller count: each rescans the whole tree'), { runMs: rsync.runMs })],
      targets: [],
    };
    return [comparison];
  },
};
