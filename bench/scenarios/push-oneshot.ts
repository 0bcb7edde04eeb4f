import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { startRsyncDaemon } from '../reference/rsync-daemon.ts';
import { agentMode } from '../skiff/push-api.ts';
import { oneShotInChild, type OneShot } from '../skiff/oneshot-process.ts';
import { summarize } from '../stats.ts';
import { PUSH_ONESHOT } from '../targets.ts';
import { reason, type Scenario } from './scenario.ts';

/**
 * `skiff push` without a session, nothing changed: what a person gets when
 * no daemon runs. The push starts in a new process with only the saved
 * index, starts a fresh agent on the populated root (the local target's
 * agent lives only as long as the push), verifies, and stops the agent.
 * Timed from the runPush call to its result, the agent's start inside it;
 * node's own start and module load are left out, as for every skiff push
 * figure, and the agent's stop afterwards is reported apart. The reference
 * is rsync's no-change run against its running daemon, process start
 * included. Runs are interleaved.
 */

const LABEL = 'skiff push, one-shot, fresh agent';

function figure(pushes: OneShot[], failures: string[]): Measured | Missing {
  if (!pushes.length) return { label: LABEL, missing: failures.join('; ') || 'no run' };
  const med = (xs: number[]) => summarize(xs).median.toFixed(0);
  const changed = pushes.filter((p) => p.result.uploaded !== 0 || p.result.deleted !== 0 || !p.result.inSync);
  return measured(LABEL, Unit.MS, pushes.map((p) => p.pushMs), [
    `phases (median): agent start (spawn → listening) ${med(pushes.map((p) => p.agentStartMs))} ms, connect incl. that ${med(pushes.map((p) => p.connectMs))} ms, the push's own scan done at ${med(pushes.map((p) => p.scannedMs))} ms, files hashed ${med(pushes.map((p) => p.result.hashed))}`,
    `excluded: node start and module load ${med(pushes.map((p) => p.importMs))} ms; agent stop after the push ${med(pushes.map((p) => p.stopMs))} ms; agent ${agentMode()}`,
    `sent ${med(pushes.map((p) => p.wireBytes))} bytes on the wire (median)`,
    ...(changed.length ? [`${changed.length} run(s) were not a no-op`] : []),
    ...failures,
  ], { pushes });
}

export const pushOneShot: Scenario = {
  id: 'push-oneshot',
  title: '`skiff push` one-shot, nothing changed, agent freshly started',
  async run(ctx) {
    const runs = ctx.profile.noChangeRuns;
    const rsyncDest = await ctx.freshDir('oneshot-rsync');
    const skiffRoot = await ctx.freshDir('oneshot-skiff');
    const rsync = await startRsyncDaemon(rsyncDest, await ctx.freshDir('rsyncd'));
    const rsyncMs: number[] = [];
    const pushes: OneShot[] = [];
    const failures: string[] = [];
    try {
      await rsync.push(ctx.tree.root);
      let ready = true;
      try {
        await oneShotInChild(ctx.tree.root, { root: skiffRoot }); // fills the root, saves the index
      } catch (err) {
        ready = false;
        failures.push(`first push: ${reason(err)}`);
      }
      for (let run = 0; run < runs; run++) {
        rsyncMs.push(await rsync.push(ctx.tree.root));
        if (ready) {
          try {
            pushes.push(await oneShotInChild(ctx.tree.root, { root: skiffRoot }));
          } catch (err) {
            failures.push(`run ${run + 1}: ${reason(err)}`);
          }
        }
        ctx.log(`one-shot push run ${run + 1}/${runs}: rsync ${rsyncMs.at(-1)!.toFixed(0)} ms, skiff ${pushes.at(-1)?.pushMs.toFixed(0) ?? '-'} ms`);
      }
    } finally {
      await rsync.stop();
      await removeDir(rsyncDest);
      await removeDir(skiffRoot);
    }
    const comparison: Comparison = {
      id: 'push-oneshot',
      title: '`skiff push` one-shot, nothing changed, agent freshly started',
      shape: Shape.RUNS,
      skiff: figure(pushes, failures),
      reference: [measured('rsync, no-change run', Unit.MS, rsyncMs, ['rsync -a against its running daemon: a full scan on both ends'])],
      targets: PUSH_ONESHOT,
    };
    return [comparison];
  },
};
