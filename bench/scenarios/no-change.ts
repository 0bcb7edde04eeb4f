import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { withRsyncDaemon } from '../reference/rsync-daemon.ts';
import { agentMode, loadPushApi, type LocalAgent, type PushApi } from '../skiff/push-api.ts';
import { pushInChild, type ChildPush } from '../skiff/push-process.ts';
import { summarize } from '../stats.ts';
import { NO_CHANGE } from '../targets.ts';
import { reason, type Context, type Scenario } from './scenario.ts';

/**
 * Nothing changed: reconnect and verify. rsync re-runs its full comparison.
 * skiff is measured as a daemon restart leaves it (DESIGN: "daemon restart →
 * agent verified in sync"): each push runs in a new process with only the
 * saved index, against
 *   - the agent kept running (its manifest in memory), and
 *   - the agent restarted on the same root (it rebuilds its manifest from disk).
 * The agent's start is timed apart from the push: in a container it happens
 * once, not at every daemon restart.
 */

interface SkiffSides {
  kept: Measured | Missing;
  restarted: Measured | Missing;
}

function pushFigure(label: string, pushes: ChildPush[], failures: string[], extraNotes: string[] = []): Measured | Missing {
  if (!pushes.length) return { label, missing: failures.join('; ') || 'no run' };
  const med = (xs: number[]) => summarize(xs).median.toFixed(0);
  const changed = pushes.filter((p) => p.result.uploaded !== 0 || p.result.deleted !== 0 || !p.result.inSync);
  return measured(label, Unit.MS, pushes.map((p) => p.pushMs), [
    `phases (median): scan ${med(pushes.map((p) => p.scanMs))} ms (hashed ${med(pushes.map((p) => p.result.hashed))} files), connect ${med(pushes.map((p) => p.connectMs))} ms, verify ${med(pushes.map((p) => p.transferMs))} ms`,
    ...extraNotes,
    ...(changed.length ? [`${changed.length} run(s) were not a no-op: uploaded/deleted something or not in sync`] : []),
    ...failures,
  ], { pushes });
}

async function measureSkiff(api: PushApi, ctx: Context): Promise<SkiffSides> {
  const root = await ctx.freshDir('nochange-skiff');
  let agent: LocalAgent | null = null;
  try {
    agent = await api.startLocalAgent({ root });
    await pushInChild(ctx.tree.root, agent); // populate the root and save the index
    const kept: ChildPush[] = [];
    const restarted: ChildPush[] = [];
    const startMs: number[] = [];
    const failures = { kept: [] as string[], restarted: [] as string[] };
    for (let run = 0; run < ctx.profile.noChangeRuns; run++) {
      try {
        kept.push(await pushInChild(ctx.tree.root, agent));
      } catch (err) {
        failures.kept.push(`run ${run + 1}: ${reason(err)}`);
      }
      try {
        await agent.stop();
        agent = null;
        const t0 = performance.now();
        agent = await api.startLocalAgent({ root });
        startMs.push(performance.now() - t0);
        restarted.push(await pushInChild(ctx.tree.root, agent));
      } catch (err) {
        failures.restarted.push(`run ${run + 1}: ${reason(err)}`);
        agent ??= await api.startLocalAgent({ root });
      }
      ctx.log(`no change run ${run + 1}/${ctx.profile.noChangeRuns}: skiff kept ${kept.at(-1)?.pushMs.toFixed(0) ?? '-'} ms, restarted ${restarted.at(-1)?.pushMs.toFixed(0) ?? '-'} ms`);
    }
    const starts = startMs.length ? summarize(startMs).median.toFixed(0) : '-';
    return {
      kept: pushFigure('skiff push, agent kept running', kept, failures.kept),
      restarted: pushFigure('skiff push, agent restarted', restarted, failures.restarted, [
        `agent start before it (not in the figure): median ${starts} ms, ${agentMode()}`,
      ]),
    };
  } finally {
    await agent?.stop();
    await removeDir(root);
  }
}

export const noChange: Scenario = {
  id: 'no-change',
  title: 'nothing changed: reconnect and verify',
  async run(ctx) {
    const dest = await ctx.freshDir('nochange-rsync');
    const rsyncMs = await withRsyncDaemon(dest, await ctx.freshDir('rsyncd'), async (d) => {
      await d.push(ctx.tree.root);
      const times: number[] = [];
      for (let run = 0; run < ctx.profile.noChangeRuns; run++) times.push(await d.push(ctx.tree.root));
      return times;
    });
    await removeDir(dest);
    ctx.log(`no change: rsync median ${summarize(rsyncMs).median.toFixed(0)} ms`);
    let sides: SkiffSides;
    try {
      sides = await measureSkiff(await loadPushApi(), ctx);
    } catch (err) {
      const missing = reason(err);
      sides = { kept: { label: 'skiff push, agent kept running', missing }, restarted: { label: 'skiff push, agent restarted', missing } };
    }
    const reference = [measured('rsync, no-change run', Unit.MS, rsyncMs, ['the same rsync -a command again: a full scan on both ends'])];
    const comparison = (id: string, what: string, skiff: Measured | Missing): Comparison => ({
      id,
      title: `nothing changed, ${what}`,
      shape: Shape.RUNS,
      skiff,
      reference,
      targets: NO_CHANGE,
    });
    return [comparison('no-change-agent-kept', 'agent kept running', sides.kept), comparison('no-change-agent-restarted', 'agent restarted', sides.restarted)];
  },
};
