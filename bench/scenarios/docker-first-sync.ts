import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH_LABEL, CONTAINER_WORKDIR, docker, dockerImages, dockerProblem, removeBenchObjects } from '../docker-bench.ts';
import { runTimed } from '../proc.ts';
import { DOCKER_FIRST_SYNC } from '../targets.ts';
import type { Context } from './scenario.ts';
import { targetFirstSync, type FirstSyncBench } from './target-first-sync.ts';

/**
 * First sync of the reference tree into a container, beside `docker cp` of
 * the same tree into a fresh container's volume: the Engine API's tar path
 * (PUT /containers/{id}/archive), which Compose's watch and Tilt's live
 * update use to copy files in.
 *
 * skiff: the Docker target starts the container (busybox alone, the agent as
 * PID 1 from its volume, a fresh source volume at /tmp/src), then the cold
 * push of target-first-sync.ts. docker cp: a running container of the same
 * image with a fresh volume at the same path. Runs alternate, and each
 * starts from empty volumes.
 */

/** docker cp of the tree into a fresh volume mounted in a running container; ms from spawn to exit. */
async function dockerCpRun(ctx: Context, image: string, run: number): Promise<number> {
  await rm(join(ctx.tree.root, '.skiff'), { recursive: true, force: true });
  const labels = { [BENCH_LABEL]: '1' };
  const volume = `skiff-bench-cp-${process.pid}-${run}`;
  await docker.createVolume({ Name: volume, Labels: labels });
  const container = await docker.createContainer({
    Image: image,
    Cmd: ['sleep', '86400'],
    Labels: labels,
    HostConfig: { Mounts: [{ Type: 'volume', Source: volume, Target: CONTAINER_WORKDIR }] },
  });
  try {
    await container.start();
    const { ms } = await runTimed('docker', ['cp', `${ctx.tree.root}/.`, `${container.id}:${CONTAINER_WORKDIR}`]);
    const count = await runTimed('docker', ['exec', container.id, 'sh', '-c', `find ${CONTAINER_WORKDIR} -type f | wc -l`]);
    const files = Number(count.stdout.trim());
    if (files !== ctx.tree.files.length) throw new Error(`docker cp left ${files} of ${ctx.tree.files.length} files in the container`);
    return ms;
  } finally {
    await container.remove({ force: true, v: true });
    await docker.getVolume(volume).remove().catch(() => undefined);
  }
}

/** The test images (removed after, when they were not there before) and docker cp's containers and volumes. */
async function openDockerBench(ctx: Context): Promise<FirstSyncBench> {
  const images = await dockerImages();
  let image = '';
  return {
    async prepare() {
      image = await images.busybox();
      return { target: 'docker', image, workdir: CONTAINER_WORKDIR };
    },
    referenceRun: (run) => dockerCpRun(ctx, image, run),
    async close() {
      await removeBenchObjects();
      await images.release();
    },
  };
}

export const dockerFirstSync = targetFirstSync({
  id: 'docker-first-sync',
  title: 'first sync into a container',
  figure: 'first sync into a container',
  logName: 'docker',
  projectName: 'bench-docker-first-sync',
  skiff: {
    label: 'skiff push into the container (cold)',
    start: 'container start with its agent (create, copy-agent, start, agent listening)',
    via: 'through the agent port published on 127.0.0.1; image: busybox alone (the agent from its volume)',
  },
  reference: {
    command: 'docker cp',
    label: "docker cp into a fresh container's volume",
    note: `docker cp SRC/. CONTAINER:${CONTAINER_WORKDIR} (the Engine API's tar path, as Compose watch and Tilt copy), process start included`,
  },
  targets: DOCKER_FIRST_SYNC,
  problem: dockerProblem,
  open: openDockerBench,
});
