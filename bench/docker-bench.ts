import Docker from 'dockerode';
import { readBundleManifest } from '@skiff/agent';
import { BUNDLE_DIR, busyboxImage, nodeImage } from '../test/support/docker-images.ts';
import { versionLine } from './proc.ts';

/**
 * What the Docker scenarios need, and what they leave: an engine that
 * answers (else they are skipped, saying why), the app images the tests make
 * without a registry (test/support/docker-images.ts: busybox alone, and a
 * Node image), and afterwards nothing of theirs on the engine. Containers and
 * volumes made here carry BENCH_LABEL (skiff's own carry the project's
 * instance label, removed by the target's delete); images that were not on
 * the engine when the scenario began are removed when it ends.
 */
export const BENCH_LABEL = 'io.skiff.bench';
/** How long the engine may take to answer a ping before the Docker scenarios are skipped. */
const PING_TIMEOUT_MS = 5_000;
/** Where the app containers keep the source: skiff.yaml's default workdir, also docker cp's destination. */
export const CONTAINER_WORKDIR = '/tmp/src';

export const docker = new Docker();

/** Why the Docker scenarios cannot run here, or null when they can. */
export async function dockerProblem(): Promise<string | null> {
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve(`no answer within ${PING_TIMEOUT_MS} ms`), PING_TIMEOUT_MS).unref());
  const ping = docker.ping().then(
    () => null,
    (err: Error) => err.message,
  );
  const problem = await Promise.race([ping, timeout]);
  if (problem !== null) return `no Docker engine answers at ${process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'} (${problem})`;
  const cli = await versionLine('docker');
  if (cli.startsWith('unavailable')) return `the docker command is not installed (docker cp is the reference): ${cli}`;
  return null;
}

export interface DockerImages {
  /** The image holding busybox alone: no node, no libc. */
  busybox(): Promise<string>;
  /** A glibc image with its own node, for examples/hello-node. */
  node(): Promise<string>;
  /** Removes the images this scenario caused to exist: the test images and skiff's agent image, when they were not there before. */
  release(): Promise<void>;
}

/** Every image tag on the engine now. */
async function tagsNow(): Promise<Set<string>> {
  return new Set((await docker.listImages()).flatMap((image) => image.RepoTags ?? []));
}

/** The images of one scenario; `release()` in its finally leaves the engine's images as they were. */
export async function dockerImages(): Promise<DockerImages> {
  const agentTag = `skiff-agent:${(await readBundleManifest(BUNDLE_DIR)).version}`;
  const before = await tagsNow();
  const used = new Set<string>([agentTag]);
  const use = async (make: () => Promise<{ tag: string }>): Promise<string> => {
    const { tag } = await make();
    used.add(tag);
    return tag;
  };
  return {
    busybox: () => use(busyboxImage),
    node: () => use(nodeImage),
    release: async () => {
      for (const tag of used) {
        // 409: still used by someone's container; 404: never made or already gone.
        if (!before.has(tag)) await docker.getImage(tag).remove().catch(() => undefined);
      }
    },
  };
}

/** Removes the containers and volumes labelled BENCH_LABEL (made by docker cp runs). */
export async function removeBenchObjects(): Promise<void> {
  const filters = { label: [`${BENCH_LABEL}=1`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
  const { Volumes } = await docker.listVolumes({ filters });
  for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
}
