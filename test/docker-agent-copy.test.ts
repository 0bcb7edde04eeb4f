import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient, runPush } from '@skiff/daemon';
import { bundleCommand, readBundleManifest, type BundleManifest } from '@skiff/agent';
import { AGENT_MOUNT, AgentContainer } from './support/docker-agent.ts';
import { RUN_ID, docker, dockerSkipReason, execIn, removeTestResources, runLabels, runToEnd } from './support/docker-engine.ts';
import { AGENT_IMAGE_BUNDLE, AGENT_IMAGE_COPY_TO, BUNDLE_DIR, agentImage, busyboxImage } from './support/docker-images.ts';

/**
 * The copy-agent step, as the Docker and Kubernetes targets use it: the image
 * built from Dockerfile.agent (FROM scratch: no shell, no cp) copies the
 * bundle into a volume and exits; an app image that holds nothing of skiff
 * mounts that volume read-only and runs the agent from it as PID 1.
 */

const skip = await dockerSkipReason();

const PUSH_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_S = 30;

let work: string;
let manifest: BundleManifest;
let agentTag: string;
let volume: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'skiff-docker-copy-'));
  if (skip !== null) return;
  manifest = await readBundleManifest(BUNDLE_DIR);
  ({ tag: agentTag } = await agentImage());
  // Named after the bundle's version, as the Docker target names its volume; this run's id keeps runs apart.
  volume = `skiff-test-agent-${manifest.version}-${RUN_ID}`;
  await docker.createVolume({ Name: volume, Labels: runLabels() });
});

afterAll(async () => {
  // This run's containers, volume and agent image; the app images stay for other files and runs.
  if (skip === null) await removeTestResources({ run: RUN_ID, images: true });
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(skip !== null)('copy-agent: the agent image fills a volume that an app image runs the agent from', () => {
  it('the agent image is the bundle alone on scratch; its default command is copy-to through the bundle\'s own loader', async () => {
    const info = await docker.getImage(agentTag).inspect();
    expect(info.Config.Cmd).toEqual(bundleCommand(manifest, AGENT_IMAGE_BUNDLE, ['copy-to', AGENT_IMAGE_COPY_TO]));
    expect(info.Config.Entrypoint ?? []).toEqual([]);
    // One layer: the COPY of the bundle onto an empty base.
    expect(info.RootFS.Layers).toHaveLength(1);
    const bytes = manifest.files.reduce((n, f) => n + f.size, 0);
    expect(info.Size).toBeGreaterThanOrEqual(bytes);
    expect(info.Size).toBeLessThan(bytes + 64 * 1024);
  });

  it('run with the volume, it copies the bundle and exits 0; run again, it finds the copy whole and writes nothing', async () => {
    const run = () => runToEnd({ Image: agentTag, HostConfig: { Mounts: [{ Type: 'volume', Source: volume, Target: AGENT_IMAGE_COPY_TO }] } });
    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ event: 'copied', version: manifest.version, dir: AGENT_IMAGE_COPY_TO, files: manifest.files.length, alreadyThere: false });
    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ event: 'copied', version: manifest.version, alreadyThere: true });
  });

  it('the busybox image runs the agent from that volume, mounted read-only, as PID 1', async () => {
    const image = await busyboxImage();
    const agent = await AgentContainer.create({ image: image.tag, bundle: { volume }, workDir: work });
    expect(await agent.start()).toMatchObject({ event: 'listening', pid: 1 });

    const node = manifest.files.find((f) => f.path === manifest.node)!;
    const sum = await execIn(agent.container, ['sha256sum', `${AGENT_MOUNT}/${manifest.node}`]);
    expect(sum.stdout.split(' ')[0]).toBe(node.sha256);
    const write = await execIn(agent.container, ['touch', `${AGENT_MOUNT}/written-by-the-app`]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);

    const project = join(work, 'project');
    await mkdir(join(project, '.s2i', 'bin'), { recursive: true });
    await writeFile(join(project, '.s2i', 'bin', 'run'), `#!/bin/sh\ntrap 'echo "app: got TERM"; exit 0' TERM\necho "app: running from the volume's agent"\nwhile :; do sleep 1 & wait $!; done\n`);
    await chmod(join(project, '.s2i', 'bin', 'run'), 0o755);
    const result = await runPush({ dir: project, connect: async () => AgentClient.connect(await agent.url(), agent.token), timeoutMs: PUSH_TIMEOUT_MS });
    expect(result).toMatchObject({ uploaded: 1, inSync: true });
    await agent.line(/^app: running from the volume's agent$/);

    await agent.container.stop({ t: STOP_TIMEOUT_S });
    expect((await agent.exited!).StatusCode).toBe(0);
    expect(agent.lines).toContain('app: got TERM');
  });
});
