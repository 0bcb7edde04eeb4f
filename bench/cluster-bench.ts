import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';
import { agentImage, busyboxImage, nodeImage } from '../test/support/docker-images.ts';
import { dockerProblem } from './docker-bench.ts';

/**
 * The cluster the Kubernetes figures run on: the one-node cluster of
 * test/cluster/ (built from source, no registry). SKIFF_BENCH_KUBECONFIG
 * names one that already runs; otherwise, as root, with the cluster's
 * binaries already built (test/cluster/build.sh; the first build takes about
 * 11 minutes, which a benchmark does not start on its own), it is started
 * for the run and stopped after. Test images are copied in from the local
 * Docker engine, and out again at the end.
 */
const CLUSTER_DIR = join(REPO_ROOT, 'test/cluster');

export interface BenchCluster {
  kubeconfig: string;
  kubectl: string;
  images: { busybox: string; node: string; agent: string };
  /** Takes the images out of the cluster, and the cluster down when the run started it. */
  release(): void;
}

function script(name: string, args: string[] = []): { ok: boolean; out: string; err: string } {
  const r = spawnSync('bash', [join(CLUSTER_DIR, name), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { ok: r.status === 0, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** Why there is no cluster to measure on, or null. */
export async function clusterProblem(): Promise<string | null> {
  if (process.env.SKIFF_BENCH_KUBECONFIG) return null;
  if (process.getuid?.() !== 0) return 'the test cluster needs root (or set SKIFF_BENCH_KUBECONFIG to a running cluster)';
  const bin = script('build.sh', ['--dir']).out.trim();
  if (!bin || !existsSync(join(bin, 'kube-apiserver'))) return 'the test cluster is not built: run test/cluster/build.sh once (about 11 minutes), or set SKIFF_BENCH_KUBECONFIG';
  return dockerProblem();
}

/** Where up.sh writes the admin kubeconfig. */
const CLUSTER_KUBECONFIG = '/var/lib/skiff-cluster/kubeconfig';

function answers(kubectl: string, kubeconfig: string): boolean {
  return spawnSync(kubectl, ['--kubeconfig', kubeconfig, 'get', '--raw', '/readyz'], { stdio: 'ignore', timeout: 5_000 }).status === 0;
}

export async function openBenchCluster(): Promise<BenchCluster> {
  const kubectlPath = join(script('build.sh', ['--dir']).out.trim(), 'kubectl');
  // A cluster that already runs is used and left running; one started here is stopped.
  const given = process.env.SKIFF_BENCH_KUBECONFIG ?? (existsSync(CLUSTER_KUBECONFIG) && answers(kubectlPath, CLUSTER_KUBECONFIG) ? CLUSTER_KUBECONFIG : undefined);
  let kubeconfig = given;
  if (!kubeconfig) {
    const up = script('up.sh');
    if (!up.ok) throw new Error(`test/cluster/up.sh failed: ${up.err.trim().split('\n').slice(-3).join(' ')}`);
    kubeconfig = up.out.trim().split('\n').at(-1)!;
  }
  const kubectl = kubectlPath;
  const images = { busybox: (await busyboxImage()).tag, node: (await nodeImage()).tag, agent: (await agentImage()).tag };
  const loaded = script('load-image.sh', Object.values(images));
  if (!loaded.ok) throw new Error(`test/cluster/load-image.sh failed: ${loaded.err.trim().split('\n').slice(-3).join(' ')}`);
  // The Kubernetes target reads the kubeconfig as a user's skiff does: from KUBECONFIG.
  const previous = process.env.KUBECONFIG;
  process.env.KUBECONFIG = kubeconfig;
  return {
    kubeconfig,
    kubectl: existsSync(kubectl) ? kubectl : 'kubectl',
    images,
    release() {
      if (previous === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = previous;
      script('load-image.sh', ['--remove', ...Object.values(images)]);
      if (!given) script('down.sh');
    },
  };
}
