import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { measured, Shape, Unit, type Comparison } from '../figures.ts';
import { removeDir } from '../location.ts';
import { withRsyncDaemon } from '../reference/rsync-daemon.ts';
import { tarPipe } from '../reference/tar-pipe.ts';
import { agentMode, loadPushApi, type PushApi } from '../skiff/push-api.ts';
import { pushInChild, type ChildPush } from '../skiff/push-process.ts';
import { summarize } from '../stats.ts';
import { FIRST_SYNC } from '../targets.ts';
import { reason, type Context, type Scenario } from './scenario.ts';

/**
 * First full sync into an empty destination. skiff starts cold: no
 * .skiff/index.json in the source (every file is hashed) and a fresh agent on
 * an empty root. The push runs in a process of its own and is timed inside
 * it from the runPush call, so node's start and module loading are left out;
 * rsync and tar are timed from spawn to exit, their start included.
 */

async function skiffRun(api: PushApi, ctx: Context, run: number): Promise<ChildPush> {
  await rm(join(ctx.tree.root, '.skiff'), { recursive: true, force: true });
  const root = await ctx.freshDir(`first-skiff-${run}`);
  const agent = await api.startLocalAgent({ root });
  try {
    return await pushInChild(ctx.tree.root, agent);
  } finally {
    await agent.stop();
    await removeDir(root);
  }
}

export const firstSync: Scenario = {
  id: 'first-sync',
  title: 'first full sync into an empty root',
  async run(ctx) {
    const { tree, profile } = ctx;
    const rsyncMs: number[] = [];
    const tarMs: number[] = [];
    const pushes: ChildPush[] = [];
    const failures: string[] = [];
    let api: PushApi | null = null;
    let missing = '';
    try {
      api = await loadPushApi();
    } catch (err) {
      missing = reason(err);
    }
    for (let run = 0; run < profile.firstSyncRuns; run++) {
      const rsyncDest = await ctx.freshDir(`first-rsync-${run}`);
      rsyncMs.push(await withRsyncDaemon(rsyncDest, await ctx.freshDir('rsyncd'), (d) => d.push(tree.root)));
      await removeDir(rsyncDest);
      const tarDest = await ctx.freshDir(`first-tar-${run}`);
      tarMs.push(await tarPipe(tree.root, tarDest));
      await removeDir(tarDest);
      if (api) {
        try {
          const push = await skiffRun(api, ctx, run);
          if (push.result.uploaded !== tree.files.length || !push.result.inSync) {
            failures.push(`run ${run + 1}: uploaded ${push.result.uploaded} of ${tree.files.length} files, inSync ${push.result.inSync}, ${push.result.problems} problem(s)`);
          }
          pushes.push(push);
        } catch (err) {
          failures.push(`run ${run + 1}: ${reason(err)}`);
        }
      }
      ctx.log(`first sync run ${run + 1}/${profile.firstSyncRuns}: rsync ${rsyncMs.at(-1)!.toFixed(0)} ms, tar ${tarMs.at(-1)!.toFixed(0)} ms` +
        (pushes.length > run ? `, skiff ${pushes[run].pushMs.toFixed(0)} ms` : ''));
    }
    ctx.shared.tarPipeMs = summarize(tarMs);
    const med = (xs: number[]) => summarize(xs).median.toFixed(0);
    const skiff = pushes.length
      ? measured('skiff push (cold)', Unit.MS, pushes.map((p) => p.pushMs), [
          `phases (median): scan ${med(pushes.map((p) => p.scanMs))} ms with the transfer under way (an empty agent gets files as the walk finds them), connect ${med(pushes.map((p) => p.connectMs))} ms, transfer and apply after the scan ${med(pushes.map((p) => p.transferMs))} ms`,
          `excluded: node start and module load, ${med(pushes.map((p) => p.wallMs - p.pushMs))} ms (wall ${med(pushes.map((p) => p.wallMs))} ms); agent ${agentMode()}`,
          `push process peak RSS ${med(pushes.map((p) => p.peakMiB))} MiB`,
          ...failures,
        ], { pushes })
      : { label: 'skiff push (cold)', missing: missing || failures.join('; ') };
    const comparison: Comparison = {
      id: 'first-sync',
      title: `first full sync into an empty root (${tree.files.length.toLocaleString('en-US')} files)`,
      shape: Shape.RUNS,
      skiff,
      reference: [
        measured('rsync daemon over loopback', Unit.MS, rsyncMs, ['rsync -a --modify-window=-1 SRC/ rsync://127.0.0.1:PORT/mod/, process start included']),
        measured('tar c | tar x (the floor)', Unit.MS, tarMs),
      ],
      targets: FIRST_SYNC,
    };
    return [comparison];
  },
};
