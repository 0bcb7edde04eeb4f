import { clusterProblem, openBenchCluster } from '../cluster-bench.ts';
import { targetSaveToHttp, type SaveToHttpImages } from './target-save-to-http.ts';

/**
 * Save → new HTTP response of examples/hello-node running in a pod:
 * target-save-to-http.ts on the Kubernetes target, a Node image, the app
 * port forwarded to 127.0.0.1 through the API server; the sync goes through
 * the port-forward, the app restarts in the pod and serves through another
 * port-forward.
 */

/** The cluster's copies of the Node and agent images, taken out again (and the cluster down when the run started it). */
async function clusterImages(): Promise<SaveToHttpImages> {
  const cluster = await openBenchCluster();
  return { image: cluster.images.node, agentImage: cluster.images.agent, release: async () => cluster.release() };
}

export const clusterSaveToHttp = targetSaveToHttp({
  id: 'cluster-save-to-http',
  title: 'save → new HTTP response in a pod (examples/hello-node)',
  figure: 'save → new HTTP response (pod)',
  label: 'skiff daemon, app in a pod',
  target: 'kubernetes',
  projectName: 'bench-hello-kube',
  dirName: 'http-kube-src',
  appUpTimeoutMs: 180_000,
  reach: 'its port forwarded by skiff via the API server',
  peers: 'odo, Skaffold and Tilt copy with kubectl cp (tar over exec) per change; Tilt documents 1.1–1.8 s for this loop (not measured here)',
  problem: clusterProblem,
  images: clusterImages,
});
