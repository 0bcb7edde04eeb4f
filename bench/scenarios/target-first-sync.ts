import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProjectConfig, TargetDriver } from '@skiff/daemon';
import { measured, Shape, Unit, type Comparison } from '../figures.ts';
import { pushInChild, type ChildPush } from '../skiff/push-process.ts';
import { summarize } from '../stats.ts';
import { reason, type Context, type Scenario } from './scenario.ts';

/**
 * First sync of the reference tree into a container skiff's target starts,
 * beside the tar copy the peers use for that target, runs alternating:
 *   - skiff: the target's driver starts the place (timed apart, as "start";
 *     what an earlier run left is deleted first, so each run starts from an
 *     empty volume), then a cold push in a process of its own (no index:
 *     every file hashed as it is sent), timed inside from the runPush call
 *     as first-sync times it; the place is deleted after each run;
 *   - the reference: a copy of the tree by the peers' command, timed from
 *     spawn to exit, its start included.
 * Each target (docker-first-sync.ts, cluster-first-sync.ts) brings its
 * reference, what it needs open during the runs, and its words.
 */

/** What the runs of one target need open: made before them, closed after them whatever happened. */
export interface FirstSyncBench {
  /**
   * Readies the reference's side and says what a skiff.yaml for the tree
   * would set (the target and its image) for the driver.
   */
  prepare(): Promise<Partial<ProjectConfig> & Pick<ProjectConfig, 'target'>>;
  /** One copy of the tree by the reference command into an empty destination; ms from spawn to exit. */
  referenceRun(run: number): Promise<number>;
  close(): Promise<void>;
}

export interface FirstSyncTarget {
  id: string;
  title: string;
  /** The figure's title, before the file count. */
  figure: string;
  /** Names the runs in progress lines ("docker first sync run 1/3"). */
  logName: string;
  /** skiff.yaml's name for the tree, which names the target's instance. */
  projectName: string;
  skiff: {
    label: string;
    /** What the start (timed apart) consists of, for the "excluded" note. */
    start: string;
    /** How the push reaches the agent, and from what image. */
    via: string;
  };
  reference: {
    /** The command, as progress lines name it. */
    command: string;
    label: string;
    note: string;
  };
  targets: Comparison['targets'];
  /** Why the target cannot be measured here, or null. */
  problem(): Promise<string | null>;
  open(ctx: Context): Promise<FirstSyncBench>;
}

interface SkiffRun {
  push: ChildPush;
  startMs: number;
}

/** The target's driver for the reference tree, without a skiff.yaml in it. */
async function openDriver(root: string, name: string, fields: Partial<ProjectConfig> & Pick<ProjectConfig, 'target'>): Promise<TargetDriver> {
  const { openTarget, parseProjectConfig } = await import('@skiff/daemon');
  // skiff.yaml's defaults, then what a skiff.yaml for this tree would say.
  const config: ProjectConfig = { ...parseProjectConfig('', name), ...fields };
  return openTarget(config.target, { projectRoot: root, config, appSpec: {} });
}

async function skiffRun(ctx: Context, driver: TargetDriver): Promise<SkiffRun> {
  await driver.delete();
  await rm(join(ctx.tree.root, '.skiff'), { recursive: true, force: true });
  const started = performance.now();
  const place = await driver.start();
  const startMs = performance.now() - started;
  try {
    return { push: await pushInChild(ctx.tree.root, place), startMs };
  } finally {
    await driver.delete();
  }
}

function comparison(ctx: Context, target: FirstSyncTarget, runs: SkiffRun[], referenceMs: number[], failures: string[]): Comparison {
  const { label, start, via } = target.skiff;
  const med = (xs: number[]) => summarize(xs).median.toFixed(0);
  const pushes = runs.map((r) => r.push);
  const skiff = runs.length
    ? measured(label, Unit.MS, pushes.map((p) => p.pushMs), [
        `phases (median): scan and hash ${med(pushes.map((p) => p.scanMs))} ms, connect ${med(pushes.map((p) => p.connectMs))} ms, transfer and apply ${med(pushes.map((p) => p.transferMs))} ms`,
        `excluded: ${start} ${med(runs.map((r) => r.startMs))} ms; node start and module load ${med(pushes.map((p) => p.wallMs - p.pushMs))} ms`,
        via,
        ...failures,
      ])
    : { label, missing: failures.join('; ') || 'no run finished' };
  return {
    id: target.id,
    title: figureTitle(ctx, target),
    shape: Shape.RUNS,
    skiff,
    reference: referenceMs.length ? [measured(target.reference.label, Unit.MS, referenceMs, [target.reference.note])] : [],
    targets: target.targets,
  };
}

function figureTitle(ctx: Context, target: FirstSyncTarget): string {
  return `${target.figure} (${ctx.tree.files.length.toLocaleString('en-US')} files)`;
}

export function targetFirstSync(target: FirstSyncTarget): Scenario {
  return {
    id: target.id,
    title: target.title,
    async run(ctx) {
      const problem = await target.problem();
      if (problem !== null) {
        ctx.log(`${target.id} skipped: ${problem}`);
        const label = target.skiff.label;
        return [{ id: target.id, title: figureTitle(ctx, target), shape: Shape.RUNS, skiff: { label, missing: `skipped: ${problem}` }, reference: [], targets: target.targets }];
      }
      const bench = await target.open(ctx);
      const referenceMs: number[] = [];
      const runs: SkiffRun[] = [];
      const failures: string[] = [];
      let driver: TargetDriver | null = null;
      try {
        driver = await openDriver(ctx.tree.root, target.projectName, await bench.prepare());
        for (let run = 0; run < ctx.profile.firstSyncRuns; run++) {
          referenceMs.push(await bench.referenceRun(run));
          try {
            const r = await skiffRun(ctx, driver);
            if (r.push.result.uploaded !== ctx.tree.files.length || !r.push.result.inSync) {
              failures.push(`run ${run + 1}: uploaded ${r.push.result.uploaded} of ${ctx.tree.files.length} files, inSync ${r.push.result.inSync}`);
            }
            runs.push(r);
          } catch (err) {
            failures.push(`run ${run + 1}: ${reason(err)}`);
          }
          ctx.log(
            `${target.logName} first sync run ${run + 1}/${ctx.profile.firstSyncRuns}: ${target.reference.command} ${referenceMs.at(-1)!.toFixed(0)} ms` +
              (runs.length > run ? `, skiff ${runs[run].push.pushMs.toFixed(0)} ms` : ''),
          );
        }
      } finally {
        await driver?.delete().catch(() => undefined);
        await bench.close();
      }
      return [comparison(ctx, target, runs, referenceMs, failures)];
    },
  };
}
