import { clusterProblem, openBenchCluster, type BenchCluster } from '../cluster-bench.ts';
import { runTimed } from '../proc.ts';
import { CLUSTER_FIRST_SYNC } from '../targets.ts';
import type { Context } from './scenario.ts';
import { targetFirstSync, type FirstSyncBench } from './target-first-sync.ts';

/**
 * First sync of the reference tree into a pod, beside `kubectl cp` of the
 * same tree into a running pod: tar over exec, which odo, Tilt and Skaffold
 * use to copy files into a cluster.
 *
 * skiff: the Kubernetes target applies its objects and waits for the pod
 * (timed apart, as "start"), then the cold push of target-first-sync.ts
 * through the port-forward. kubectl cp: a running busybox pod. Each run
 * starts from an empty claim (the instance is deleted between runs) and an
 * empty directory.
 */
const POD = 'skiff-bench-kubectl-cp';
const DEST = '/tmp/dest';

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

/** The cluster (started for the run when none runs) and kubectl cp's pod. */
async function openClusterBench(ctx: Context): Promise<FirstSyncBench> {
  const cluster = await openBenchCluster();
  return {
    async prepare() {
      await kubectl(cluster, ['run', POD, `--image=${cluster.images.busybox}`, '--image-pull-policy=Never', '--restart=Never', '--command', '--', 'sleep', '86400']);
      await kubectl(cluster, ['wait', '--for=condition=Ready', `pod/${POD}`, '--timeout=120s']);
      return { target: 'kubernetes', image: cluster.images.busybox, agentImage: cluster.images.agent };
    },
    referenceRun: (run) => kubectlCpRun(ctx, cluster, run),
    async close() {
      await kubectl(cluster, ['delete', 'pod', POD, '--now', '--ignore-not-found']).catch(() => undefined);
      cluster.release();
    },
  };
}

export const clusterFirstSync = targetFirstSync({
  id: 'cluster-first-sync',
  title: 'first sync into a pod through port-forward',
  figure: 'first sync into a pod',
  logName: 'cluster',
  projectName: 'bench-kube-first-sync',
  skiff: {
    label: 'skiff push through port-forward (cold)',
    start: 'apply and pod start (init containers, agent listening)',
    via: "through skiff's port-forward via the API server; image: busybox alone (the agent from its init container)",
  },
  reference: {
    command: 'kubectl cp',
    label: 'kubectl cp into a running pod',
    note: 'kubectl cp SRC/. POD:DIR (tar over exec, as odo, Tilt and Skaffold copy), process start included',
  },
  targets: CLUSTER_FIRST_SYNC,
  problem: clusterProblem,
  open: openClusterBench,
});
