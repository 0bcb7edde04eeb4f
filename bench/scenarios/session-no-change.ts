import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { startRsyncDaemon } from '../reference/rsync-daemon.ts';
import { loadSessionApi, type BenchSession } from '../skiff/session-api.ts';
import { SESSION_NO_CHANGE } from '../targets.ts';
import { reason, type Scenario } from './scenario.ts';

/**
 * Nothing changed, daemon and agent kept running: `skiff push` while the
 * session runs, which is the session's syncNow (the control API's push).
 * Timed in this process around that call: the CLI's own start and its
 * socket round trip to the daemon are left out, like node's start in every
 * skiff figure. The reference is rsync's no-change run against its running
 * daemon. Runs are interleaved.
 */

const LABEL = 'skiff push through the running session';
/** More runs than a one-shot figure: each is short, and the ratio's denominator is small. */
const RUNS_PER_NO_CHANGE_RUN = 4;

export const sessionNoChange: Scenario = {
  id: 'session-no-change',
  title: 'nothing changed, daemon and agent kept running',
  async run(ctx) {
    const runs = ctx.profile.noChangeRuns * RUNS_PER_NO_CHANGE_RUN;
    const rsyncDest = await ctx.freshDir('session-nc-rsync');
    const root = await ctx.freshDir('session-nc-skiff');
    const rsync = await startRsyncDaemon(rsyncDest, await ctx.freshDir('rsyncd'));
    const rsyncMs: number[] = [];
    const skiffMs: number[] = [];
    let skiff: Measured | Missing = { label: LABEL, missing: 'no run' };
    let session: BenchSession | null = null;
    let readyMs = 0;
    const failures: string[] = [];
    try {
      await rsync.push(ctx.tree.root);
      try {
        const startSession = await loadSessionApi();
        const t0 = performance.now();
        session = await startSession({ dir: ctx.tree.root, root });
        await session.ready;
        readyMs = performance.now() - t0;
      } catch (err) {
        failures.push(reason(err));
        session = null;
      }
      for (let run = 0; run < runs; run++) {
        rsyncMs.push(await rsync.push(ctx.tree.root));
        if (!session) continue;
        try {
          const t = performance.now();
          await session.push();
          skiffMs.push(performance.now() - t);
        } catch (err) {
          failures.push(`run ${run + 1}: ${reason(err)}`);
        }
      }
      ctx.log(`session no-change: ${skiffMs.length} pushes through the session, ${rsyncMs.length} rsync runs`);
      skiff = skiffMs.length
        ? measured(LABEL, Unit.MS, skiffMs, [`session ready (initial sync into an empty root) in ${(readyMs / 1000).toFixed(2)} s, not in the figure`, ...failures])
        : { label: LABEL, missing: failures.join('; ') || 'no run' };
    } finally {
      await session?.stop().catch(() => undefined);
      await rsync.stop();
      await removeDir(rsyncDest);
      await removeDir(root);
    }
    const comparison: Comparison = {
      id: 'session-no-change',
      title: 'nothing changed, daemon and agent kept running',
      shape: Shape.RUNS,
      skiff,
      reference: [measured('rsync, no-change run', Unit.MS, rsyncMs, ['rsync -a against its running daemon: a full scan on both ends'])],
      targets: SESSION_NO_CHANGE,
    };
    return [comparison];
  },
};
