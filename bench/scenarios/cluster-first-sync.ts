import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProjectConfig, TargetDriver } from '@skiff/daemon';
import { clusterProblem, openBenchCluster, type BenchCluster } from '../cluster-bench.ts';
import { measured, Shape, Unit, type Comparison } from '../figures.ts';
import { runTimed } from '../proc.ts';
import { pushInChild, type ChildPush } from '../skiff/push-process.ts';
import { summarize } from '../stats.ts';
import { CLUSTER_FIRST_SYNC } from '../targets.ts';
import { reason, type Context, type Scenario } from './scenario.ts';

/**
 * First sync of the reference tree into a pod, beside `kubectl cp` of the
 * same tree into a running pod: tar over exec, which odo, Tilt and Skaffold
 * use to copy files into a cluster.
 *
 * skiff: the Kubernetes target applies its objects and waits for the pod
 * (timed apart, as "start"), then a cold push in a process of its own through
 * the port-forward, timed inside from the runPush call. kubectl cp: a running
 * busybox pod, the command timed from spawn to exit (its start included).
 * Each run starts from an empty claim (the instance is deleted between runs)
 * and an empty directory.
 */
const PROJECT_NAME = 'bench-kube-first-sync';
const POD = 'skiff-bench-kubectl-cp';
const DEST = '/tmp/dest';

async function kubeDriver(root: string, cluster: BenchCluster): Promise<TargetDriver> {
  const { openTarget, parseProjectConfig } = await import('@skiff/daemon');
  // skiff.yaml's defaults, then what a skiff.yaml for this tree would say.
  const config: ProjectConfig = { ...parseProjectConfig('', PROJECT_NAME), target: 'kubernetes', image: cluster.images.busybox, agentImage: cluster.images.agent };
  return openTarget('kubernetes', { projectRoot: root, config, appSpec: {} });
}

async function skiffRun(ctx: Context, driver: TargetDriver): Promise<{ push: ChildPush; startMs: number }> {
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

async function kubectl(cluster: BenchCluster, args: string[]): Promise<{ ms: number; stdout: string }> {
  const r = await runTimed(cluster.kubectl, ['--kubeconfig', cluster.kubeconfig, ...args]);
  return { ms: r.ms, stdout: r.stdout };
}

/** kubectl cp of the tree into an empty directory of a running pod; ms from spawn to exit. */
async function kubectlCpRun(ctx: Context, cluster: BenchCluster, run: number): Promise<number> {
  const dest = `${DEST}-${run}`;
  const { ms } = await kubectl(cluster, ['cp', `${ctx.tree.root}/.`, `default/${POD}:${dest}`]);
  const count = await kubectl(cluster, ['exec', POD, '--', 'sh', '-c', `find ${dest} -type f | wc -l; rm -rf ${dest}`]);
  const files = Number(count.stdout.trim().split('\n')[0]);
  const expected = Number((await runTimed('sh', ['-c', `find '${ctx.tree.root}' -type f | wc -l`])).stdout.trim());
  if (files !== expected) throw new Error(`kubectl cp left ${files} of the ${expected} files of the tree in the pod`);
  return ms;
}

export const clusterFirstSync: Scenario = {
  id: 'cluster-first-sync',
  title: 'first sync into a pod through port-forward',
  async run(ctx) {
    const title = `first sync into a pod (${ctx.tree.files.length.toLocaleString('en-US')} files)`;
    const label = 'skiff push through port-forward (cold)';
    const problem = await clusterProblem();
    if (problem !== null) {
      ctx.log(`cluster-first-sync skipped: ${problem}`);
      return [{ id: 'cluster-first-sync', title, shape: Shape.RUNS, skiff: { label, missing: `skipped: ${problem}` }, reference: [], targets: CLUSTER_FIRST_SYNC }];
    }
    const cluster = await openBenchCluster();
    const cpMs: number[] = [];
    const runs: Array<{ push: ChildPush; startMs: number }> = [];
    const failures: string[] = [];
    let driver: TargetDriver | null = null;
    try {
      await kubectl(cluster, ['run', POD, `--image=${cluster.images.busybox}`, '--image-pull-policy=Never', '--restart=Never', '--command', '--', 'sleep', '86400']);
      await kubectl(cluster, ['wait', '--for=condition=Ready', `pod/${POD}`, '--timeout=120s']);
      driver = await kubeDriver(ctx.tree.root, cluster);
      for (let run = 0; run < ctx.profile.firstSyncRuns; run++) {
        cpMs.push(await kubectlCpRun(ctx, cluster, run));
        try {
          const r = await skiffRun(ctx, driver);
          if (r.push.result.uploaded !== ctx.tree.files.length || !r.push.result.inSync) {
            failures.push(`run ${run + 1}: uploaded ${r.push.result.uploaded} of ${ctx.tree.files.length} files, inSync ${r.push.result.inSync}`);
          }
          runs.push(r);
        } catch (err) {
          failures.push(`run ${run + 1}: ${reason(err)}`);
        }
        ctx.log(`cluster first sync run ${run + 1}/${ctx.profile.firstSyncRuns}: kubectl cp ${cpMs.at(-1)!.toFixed(0)} ms` + (runs.length > run ? `, skiff ${runs[run].push.pushMs.toFixed(0)} ms` : ''));
      }
    } finally {
      await driver?.delete().catch(() => undefined);
      await kubectl(cluster, ['delete', 'pod', POD, '--now', '--ignore-not-found']).catch(() => undefined);
      cluster.release();
    }
    const med = (xs: number[]) => summarize(xs).median.toFixed(0);
    const pushes = runs.map((r) => r.push);
    const skiff = runs.length
      ? measured(label, Unit.MS, pushes.map((p) => p.pushMs), [
          `phases (median): scan and hash ${med(pushes.map((p) => p.scanMs))} ms, connect ${med(pushes.map((p) => p.connectMs))} ms, transfer and apply ${med(pushes.map((p) => p.transferMs - p.connectMs))} ms`,
          `excluded: apply and pod start (init containers, agent listening) ${med(runs.map((r) => r.startMs))} ms; node start and module load ${med(pushes.map((p) => p.wallMs - p.pushMs))} ms`,
          'through skiff\'s port-forward via the API server; image: busybox alone (the agent from its init container)',
          ...failures,
        ])
      : { label, missing: failures.join('; ') || 'no run finished' };
    return [
      {
        id: 'cluster-first-sync',
        title,
        shape: Shape.RUNS,
        skiff,
        reference: cpMs.length ? [measured('kubectl cp into a running pod', Unit.MS, cpMs, ['kubectl cp SRC/. POD:DIR (tar over exec, as odo, Tilt and Skaffold copy), process start included'])] : [],
        targets: CLUSTER_FIRST_SYNC,
      },
    ];
  },
};
