import { join } from 'node:path';
import { watchArrivals } from '../arrival.ts';
import type { PendingSave } from '../edits.ts';
import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { withRsyncDaemon } from '../reference/rsync-daemon.ts';
import { loadSessionApi, SessionEventName, type BenchSession } from '../skiff/session-api.ts';
import { STORM_BATCHES, STORM_RESTARTS } from '../targets.ts';
import { CAP_BYTES } from '../tree.ts';
import { reason, type Context, type Scenario } from './scenario.ts';

/**
 * A storm: thousands of files rewritten at once (a git checkout, an npm
 * install). Timed from the first write to the moment every new file is in
 * the destination; for skiff also the number of batches it became and the
 * number of app restarts it caused. DESIGN: a storm becomes one batch, and
 * the app restarts once per batch. The reference writes the same storm and
 * runs rsync once after it.
 *
 * Needs: startSession({ dir, root, app }) → { ready, subscribe, stop } from
 * @skiff/daemon (skiff/session-api.ts); 'sync.finished' per batch and
 * 'app.status' with its `restarts` counter.
 */

/** Far above a storm's seconds; a file still missing then is a miss, not a slow arrival. */
const STORM_TIMEOUT_MS = 30_000;
/** After the last file arrived, how long without a new batch or status before counting. */
const QUIET_MS = 1_500;
const STORM_SALT = 0x5707;
/** A placeholder app that only has to be restartable, so restarts can be counted. */
const IDLE_APP = { run: `${process.execPath} -e "setInterval(() => {}, 1 << 30)"` };

/** Writes the storm and resolves when every file is in `destRoot`; `after` runs once the writes are done. */
async function storm(ctx: Context, destRoot: string, run: number, after: () => Promise<unknown>): Promise<number> {
  // Any file may be in a storm, the multi-MiB ones too.
  const saves: PendingSave[] = ctx.editor.pick(ctx.profile.stormFiles, STORM_SALT + run, CAP_BYTES).map((i) => ctx.editor.next(i));
  const arrivals = watchArrivals(saves.map((s) => ({ path: join(destRoot, s.rel), bytes: s.bytes })), STORM_TIMEOUT_MS);
  const started = performance.now();
  for (const s of saves) s.write();
  const [done] = await Promise.all([arrivals.all, after()]);
  return done - started;
}

/** Waits until neither a batch nor an app status came for QUIET_MS, counting from `since` at the earliest. */
async function quiet(since: number, lastActivity: () => number): Promise<void> {
  while (performance.now() - Math.max(since, lastActivity()) < QUIET_MS) await new Promise((r) => setTimeout(r, QUIET_MS / 5));
}

interface SkiffStorm {
  time: Measured | Missing;
  batches: Measured | Missing;
  restarts: Measured | Missing;
}

async function skiffStorms(ctx: Context): Promise<SkiffStorm> {
  const root = await ctx.freshDir('storm-daemon');
  let session: BenchSession | null = null;
  try {
    const startSession = await loadSessionApi();
    session = await startSession({ dir: ctx.tree.root, root, app: IDLE_APP });
    await session.ready;
    let batches = 0;
    let restarts = 0;
    let lastActivity = performance.now();
    session.subscribe((event, data) => {
      if (event === SessionEventName.SYNC_FINISHED) batches++;
      else if (event === SessionEventName.APP_STATUS) restarts = Math.max(restarts, (data as { restarts?: number }).restarts ?? 0);
      else return;
      lastActivity = performance.now();
    });
    await quiet(performance.now(), () => lastActivity);
    const ms: number[] = [];
    const batchCounts: number[] = [];
    const restartCounts: number[] = [];
    for (let run = 0; run < ctx.profile.stormRuns; run++) {
      const [b0, r0] = [batches, restarts];
      ms.push(await storm(ctx, root, run, async () => undefined));
      await quiet(performance.now(), () => lastActivity);
      batchCounts.push(batches - b0);
      restartCounts.push(restarts - r0);
      ctx.log(`storm run ${run + 1}: skiff ${ms.at(-1)!.toFixed(0)} ms, ${batchCounts.at(-1)} batch(es), ${restartCounts.at(-1)} restart(s)`);
    }
    return {
      time: measured('skiff daemon (watcher)', Unit.MS, ms),
      batches: measured('skiff batches per storm', Unit.COUNT, batchCounts),
      restarts: measured('skiff app restarts per storm', Unit.COUNT, restartCounts),
    };
  } catch (err) {
    const missing = reason(err);
    return {
      time: { label: 'skiff daemon (watcher)', missing },
      batches: { label: 'skiff batches per storm', missing },
      restarts: { label: 'skiff app restarts per storm', missing },
    };
  } finally {
    await session?.stop();
    await removeDir(root);
  }
}

export const stormScenario: Scenario = {
  id: 'storm',
  title: 'a storm of files rewritten at once',
  async run(ctx) {
    const files = ctx.profile.stormFiles.toLocaleString('en-US');
    const dest = await ctx.freshDir('storm-rsync');
    const rsyncMs = await withRsyncDaemon(dest, await ctx.freshDir('rsyncd'), async (d) => {
      await d.push(ctx.tree.root);
      const times: number[] = [];
      for (let run = 0; run < ctx.profile.stormRuns; run++) times.push(await storm(ctx, dest, run, () => d.push(ctx.tree.root)));
      return times;
    });
    await removeDir(dest);
    const skiff = await skiffStorms(ctx);
    const base = { shape: Shape.RUNS } as const;
    const comparisons: Comparison[] = [
      {
        ...base,
        id: 'storm-time',
        title: `${files} files rewritten at once → all in the root`,
        skiff: skiff.time,
        reference: [measured('rsync run after the storm', Unit.MS, rsyncMs, ['timed from the first write, like skiff'])],
        targets: [],
      },
      { ...base, id: 'storm-batches', title: `${files} files rewritten at once → batches`, skiff: skiff.batches, reference: [], targets: STORM_BATCHES },
      { ...base, id: 'storm-restarts', title: `${files} files rewritten at once → app restarts`, skiff: skiff.restarts, reference: [], targets: STORM_RESTARTS },
    ];
    return comparisons;
  },
};
