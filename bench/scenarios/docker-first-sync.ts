import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProjectConfig, TargetDriver } from '@skiff/daemon';
import { BENCH_LABEL, CONTAINER_WORKDIR, docker, dockerImages, dockerProblem, removeBenchObjects } from '../docker-bench.ts';
import { measured, Shape, Unit, type Comparison } from '../figures.ts';
import { runTimed } from '../proc.ts';
import { pushInChild, type ChildPush } from '../skiff/push-process.ts';
import { summarize } from '../stats.ts';
import { DOCKER_FIRST_SYNC } from '../targets.ts';
import { reason, type Context, type Scenario } from './scenario.ts';

/**
 * First sync of the reference tree into a container, beside `docker cp` of
 * the same tree into a fresh container's volume: the Engine API's tar path
 * (PUT /containers/{id}/archive), which Compose's watch and Tilt's live
 * update use to copy files in.
 *
 * skiff: the Docker target starts the container (busybox alone, the agent as
 * PID 1 from its volume, a fresh source volume at /tmp/src), then a push in a
 * process of its own, cold (no index: every file hashed as it is sent),
 * timed inside from the runPush call, as first-sync times it.
 * docker cp: a running container of the same image with a fresh volume at
 * the same path; the command is timed from spawn to exit, its start included.
 * Runs alternate, and each starts from empty volumes.
 */

const PROJECT_NAME = 'bench-docker-first-sync';

/** The driver of the Docker target for the reference tree, without a skiff.yaml in it. */
async function dockerDriver(root: string, image: string): Promise<TargetDriver> {
  const { openTarget, parseProjectConfig } = await import('@skiff/daemon');
  // skiff.yaml's defaults, then what a skiff.yaml for this tree would say.
  const config: ProjectConfig = { ...parseProjectConfig('', PROJECT_NAME), target: 'docker', image, workdir: CONTAINER_WORKDIR };
  return openTarget('docker', { projectRoot: root, config, appSpec: {} });
}

async function skiffRun(ctx: Context, driver: TargetDriver): Promise<{ push: ChildPush; startMs: number }> {
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

export const dockerFirstSync: Scenario = {
  id: 'docker-first-sync',
  title: 'first sync into a container',
  async run(ctx) {
    const title = `first sync into a container (${ctx.tree.files.length.toLocaleString('en-US')} files)`;
    const problem = await dockerProblem();
    if (problem !== null) {
      ctx.log(`docker-first-sync skipped: ${problem}`);
      return [{ id: 'docker-first-sync', title, shape: Shape.RUNS, skiff: { label: 'skiff push into a container (cold)', missing: `skipped: ${problem}` }, reference: [], targets: DOCKER_FIRST_SYNC }];
    }
    const images = await dockerImages();
    const cpMs: number[] = [];
    const runs: Array<{ push: ChildPush; startMs: number }> = [];
    const failures: string[] = [];
    let driver: TargetDriver | null = null;
    try {
      const image = await images.busybox();
      driver = await dockerDriver(ctx.tree.root, image);
      for (let run = 0; run < ctx.profile.firstSyncRuns; run++) {
        cpMs.push(await dockerCpRun(ctx, image, run));
        try {
          const r = await skiffRun(ctx, driver);
          if (r.push.result.uploaded !== ctx.tree.files.length || !r.push.result.inSync) {
            failures.push(`run ${run + 1}: uploaded ${r.push.result.uploaded} of ${ctx.tree.files.length} files, inSync ${r.push.result.inSync}`);
          }
          runs.push(r);
        } catch (err) {
          failures.push(`run ${run + 1}: ${reason(err)}`);
        }
        ctx.log(`docker first sync run ${run + 1}/${ctx.profile.firstSyncRuns}: docker cp ${cpMs.at(-1)!.toFixed(0)} ms` + (runs.length > run ? `, skiff ${runs[run].push.pushMs.toFixed(0)} ms` : ''));
      }
    } finally {
      await driver?.delete().catch(() => undefined);
      await removeBenchObjects();
      await images.release();
    }
    const med = (xs: number[]) => summarize(xs).median.toFixed(0);
    const pushes = runs.map((r) => r.push);
    const skiff = runs.length
      ? measured('skiff push into the container (cold)', Unit.MS, pushes.map((p) => p.pushMs), [
          `phases (median): scan and hash ${med(pushes.map((p) => p.scanMs))} ms, connect ${med(pushes.map((p) => p.connectMs))} ms, transfer and apply ${med(pushes.map((p) => p.transferMs - p.connectMs))} ms`,
          `excluded: container start with its agent (create, copy-agent, start, agent listening) ${med(runs.map((r) => r.startMs))} ms; node start and module load ${med(pushes.map((p) => p.wallMs - p.pushMs))} ms`,
          'through the agent port published on 127.0.0.1; image: busybox alone (the agent from its volume)',
          ...failures,
        ])
      : { label: 'skiff push into the container (cold)', missing: failures.join('; ') || 'no run finished' };
    const comparison: Comparison = {
      id: 'docker-first-sync',
      title,
      shape: Shape.RUNS,
      skiff,
      reference: cpMs.length ? [measured("docker cp into a fresh container's volume", Unit.MS, cpMs, [`docker cp SRC/. CONTAINER:${CONTAINER_WORKDIR} (the Engine API's tar path, as Compose watch and Tilt copy), process start included`])] : [],
      targets: DOCKER_FIRST_SYNC,
    };
    return [comparison];
  },
};
