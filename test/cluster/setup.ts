import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { agentImage, nodeImage } from '../support/docker-images.ts';

/**
 * Set-up of the cluster tier: a real one-node Kubernetes (test/cluster/up.sh,
 * built from source the first time) unless SKIFF_TEST_KUBECONFIG names one
 * already running; the test images (a Node image, the agent image from
 * Dockerfile.agent) built in the local Docker engine and copied into the
 * cluster, since it pulls from no registry. What it started, it stops:
 * the cluster (down.sh) and the images it copied in. SKIFF_CLUSTER_KEEP=1
 * leaves the cluster up for the next run.
 */
const HERE = fileURLToPath(new URL('.', import.meta.url));

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    nodeImage: string;
    agentImage: string;
  }
}

function run(script: string, args: string[]): string {
  const r = spawnSync('bash', [`${HERE}${script}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`test/cluster/${script} ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
  return r.stdout;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.SKIFF_TEST_KUBECONFIG;
  const kubeconfig = given ?? run('up.sh', []).trim().split('\n').at(-1)!;
  const images = [(await nodeImage()).tag, (await agentImage()).tag];
  run('load-image.sh', images);
  project.provide('kubeconfig', kubeconfig);
  project.provide('nodeImage', images[0]);
  project.provide('agentImage', images[1]);
  return async () => {
    if (given || process.env.SKIFF_CLUSTER_KEEP === '1') {
      run('load-image.sh', ['--remove', ...images]);
      return;
    }
    run('down.sh', []);
  };
}
