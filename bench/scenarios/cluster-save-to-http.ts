import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterProblem, openBenchCluster, type BenchCluster } from '../cluster-bench.ts';
import { measured, Shape, Unit, type Comparison, type Measured, type Missing } from '../figures.ts';
import { removeDir } from '../location.ts';
import { HELLO_NODE_DIR } from '../paths.ts';
import { freePort } from '../ports.ts';
import { sessionWarnings } from '../skiff/session-api.ts';
import { summarize } from '../stats.ts';
import { SAVE_TO_HTTP } from '../targets.ts';
import { reason, type Context, type Scenario } from './scenario.ts';
import { HTTP_POLL_MS, timeResponses, until } from './save-to-http.ts';

/**
 * Save → new HTTP response of examples/hello-node running in a pod: a daemon
 * session on the Kubernetes target (the example's skiff.yaml with `target:
 * kubernetes`, a Node image, the app port forwarded to 127.0.0.1 through the
 * API server), an edit of message.js, then the app polled until a response
 * carries the new message: watch, sync through the port-forward, restart in
 * the pod, serve through another port-forward.
 */
const APP_UP_TIMEOUT_MS = 180_000;
const LABEL = 'skiff daemon, app in a pod';
const APP_PORT = 8080;

function projectYaml(cluster: BenchCluster, hostPort: number): string {
  return [
    'name: bench-hello-kube',
    'target: kubernetes',
    `image: ${JSON.stringify(cluster.images.node)}`,
    `agentImage: ${JSON.stringify(cluster.images.agent)}`,
    'run: node server.js',
    `ports: ["${hostPort}:${APP_PORT}"]`,
    'env:',
    `  PORT: "${APP_PORT}"`,
    '',
  ].join('\n');
}

async function daemonInPod(ctx: Context, cluster: BenchCluster): Promise<Measured | Missing> {
  const src = await ctx.freshDir('http-kube-src');
  await cp(HELLO_NODE_DIR, src, { recursive: true });
  const hostPort = await freePort();
  await writeFile(join(src, 'skiff.yaml'), projectYaml(cluster, hostPort));
  const url = `http://127.0.0.1:${hostPort}/`;
  const { Session } = await import('@skiff/daemon');
  const session = new Session({
    root: src,
    target: 'kubernetes',
    log: (level, message) => {
      if (level === 'warn' || level === 'error') sessionWarnings.push(message);
    },
  });
  try {
    await session.ready;
    await until(url, 'Hello', APP_UP_TIMEOUT_MS);
    const latencies = await timeResponses(src, url, ctx.profile.httpSaves, async () => undefined);
    ctx.log(`save → HTTP (kubernetes): p50 ${summarize(latencies).median.toFixed(0)} ms`);
    return measured(LABEL, Unit.MS, latencies, [
      `${latencies.length} saves of message.js, app polled every ${HTTP_POLL_MS} ms through its port forwarded by skiff via the API server`,
      'odo, Skaffold and Tilt copy with kubectl cp (tar over exec) per change; Tilt documents 1.1–1.8 s for this loop (not measured here)',
    ]);
  } catch (err) {
    return { label: LABEL, missing: reason(err) };
  } finally {
    // Stops the session and removes the instance's objects.
    await session.delete().catch(() => undefined);
    await removeDir(src);
  }
}

export const clusterSaveToHttp: Scenario = {
  id: 'cluster-save-to-http',
  title: 'save → new HTTP response in a pod (examples/hello-node)',
  async run(ctx) {
    const base = { id: 'cluster-save-to-http', title: 'save → new HTTP response (pod)', shape: Shape.LATENCY, reference: [], targets: SAVE_TO_HTTP };
    const problem = await clusterProblem();
    if (problem !== null) {
      ctx.log(`cluster-save-to-http skipped: ${problem}`);
      return [{ ...base, skiff: { label: LABEL, missing: `skipped: ${problem}` } }] satisfies Comparison[];
    }
    const cluster = await openBenchCluster();
    try {
      return [{ ...base, skiff: await daemonInPod(ctx, cluster) }] satisfies Comparison[];
    } finally {
      cluster.release();
    }
  },
};
