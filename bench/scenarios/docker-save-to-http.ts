import { dockerImages, dockerProblem } from '../docker-bench.ts';
import { targetSaveToHttp, type SaveToHttpImages } from './target-save-to-http.ts';

/**
 * Save → new HTTP response of examples/hello-node running in a container:
 * target-save-to-http.ts on the Docker target, a Node image, the app port
 * published on 127.0.0.1; the sync goes through the published agent port,
 * the app restarts in the container.
 */

/** The Node test image, removed after when it was not there before (with the agent image skiff builds). */
async function nodeImage(): Promise<SaveToHttpImages> {
  const images = await dockerImages();
  try {
    return { image: await images.node(), release: () => images.release() };
  } catch (err) {
    await images.release();
    throw err;
  }
}

export const dockerSaveToHttp = targetSaveToHttp({
  id: 'docker-save-to-http',
  title: 'save → new HTTP response in a container (examples/hello-node)',
  figure: 'save → new HTTP response (container)',
  label: 'skiff daemon, app in a container',
  target: 'docker',
  projectName: 'bench-hello-docker',
  dirName: 'http-docker-src',
  /** The first start may build the agent image and fill its volume. */
  appUpTimeoutMs: 120_000,
  reach: 'its port published on 127.0.0.1',
  peers: 'Tilt documents 1.1–1.8 s for this loop with live_update (not measured here)',
  problem: dockerProblem,
  images: nodeImage,
});
