import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import type { AgentBundle } from '../agent-bundle.ts';
import { LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY, type Instance } from '../instance.ts';
import { COPY_AGENT_TARGET } from '../pod-shape.ts';
import { filesUnder, tarOf } from './archive.ts';
import { engineUnavailable, messageOf, progressError, readAll, statusOf } from './engine.ts';
import { LABEL_ROLE, type DockerNames } from './spec.ts';

/**
 * The images and volumes the app container needs before it starts: the
 * app's image (pulled when missing), the agent image (built from
 * Dockerfile.agent when missing: no registry needed), and the agent volume
 * the copy-agent step fills from it.
 */

/** Dockerfile.agent's path in the build context, and where the bundle sits in it (as in the repository). */
const AGENT_DOCKERFILE = 'Dockerfile.agent';
const BUNDLE_IN_CONTEXT = 'packages/agent/dist/bundle';
/** The agent image's content when skiff's repository (and its Dockerfile.agent) is not at hand: the same two lines that matter. */
function fallbackDockerfile(loader: string): string {
  return `FROM scratch\nCOPY ${BUNDLE_IN_CONTEXT}/ /opt/skiff-agent/\nCMD ["/opt/skiff-agent/${loader}", "--library-path", "/opt/skiff-agent/lib", "/opt/skiff-agent/node", "/opt/skiff-agent/skiff-agent.js", "copy-to", "${COPY_AGENT_TARGET}"]\n`;
}

async function imageExists(d: Docker, name: string): Promise<boolean> {
  try {
    await d.getImage(name).inspect();
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw engineUnavailable(err);
  }
}

/** The app's image: present, or pulled now; SKIFF_E_IMAGE_MISSING when neither. */
export async function ensureAppImage(d: Docker, image: string): Promise<void> {
  if (await imageExists(d, image)) return;
  let failure: string | null;
  try {
    failure = progressError(await readAll(await d.pull(image)));
  } catch (err) {
    failure = messageOf(err);
  }
  if (failure !== null || !(await imageExists(d, image))) {
    throw new SkiffError(ErrorCode.IMAGE_MISSING, `the image ${JSON.stringify(image)} is not on this Docker engine and could not be pulled (${failure ?? 'no image after the pull'}); build or pull it, or fix "image" in skiff.yaml`);
  }
}

/** The agent image `name`, built from the bundle when missing. */
export async function ensureAgentImage(d: Docker, name: string, bundle: AgentBundle, labels: Record<string, string>): Promise<void> {
  if (await imageExists(d, name)) return;
  const repoDockerfile = join(bundle.dir, '..', '..', '..', '..', AGENT_DOCKERFILE);
  const dockerfile = existsSync(repoDockerfile) ? readFileSync(repoDockerfile) : Buffer.from(fallbackDockerfile(bundle.manifest.loader ?? 'node'));
  const context = await tarOf([{ name: AGENT_DOCKERFILE, mode: 0o644, content: dockerfile }, ...filesUnder(bundle.dir, BUNDLE_IN_CONTEXT)]);
  let failure: string | null;
  try {
    const stream = await d.buildImage(context as unknown as NodeJS.ReadableStream, { t: name, dockerfile: AGENT_DOCKERFILE, labels: { [LABEL_MANAGED_BY]: labels[LABEL_MANAGED_BY] ?? MANAGED_BY } });
    failure = progressError(await readAll(stream));
  } catch (err) {
    failure = messageOf(err);
  }
  if (failure !== null || !(await imageExists(d, name))) {
    throw new SkiffError(ErrorCode.AGENT_START, `cannot build the agent image ${name} from ${AGENT_DOCKERFILE}: ${failure ?? 'no image after the build'}`);
  }
}

/** The agent volume, created and filled by the copy-agent step when it is new. */
export async function ensureAgentVolume(d: Docker, names: DockerNames, labels: Record<string, string>): Promise<void> {
  try {
    await d.getVolume(names.agentVolume).inspect();
    return;
  } catch (err) {
    if (statusOf(err) !== 404) throw engineUnavailable(err);
  }
  await d.createVolume({ Name: names.agentVolume, Labels: { ...labels, [LABEL_ROLE]: 'agent' } });
  const copier = await d.createContainer({
    name: `${names.agentVolume}-copy`,
    Image: names.agentImage,
    Labels: { ...labels, [LABEL_ROLE]: 'copy-agent' },
    HostConfig: { Mounts: [{ Type: 'volume', Source: names.agentVolume, Target: COPY_AGENT_TARGET }] },
  });
  try {
    await copier.start();
    const { StatusCode } = (await copier.wait()) as { StatusCode: number };
    if (StatusCode !== 0) {
      const logs = ((await copier.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer).toString('utf8');
      throw new SkiffError(ErrorCode.AGENT_START, `the copy-agent step exited with ${StatusCode}: ${logs.trim().slice(-2000)}`);
    }
  } catch (err) {
    await d.getVolume(names.agentVolume).remove().catch(() => undefined);
    throw err;
  } finally {
    await copier.remove({ force: true }).catch(() => undefined);
  }
}

/**
 * The source volume, labelled (a volume the engine made for a mount would not
 * be). Created empty: the engine seeds an empty volume with what the image
 * holds at the mount point when the container first mounts it, which is the
 * copy-files-to-volume step.
 */
export async function ensureSourceVolume(d: Docker, names: DockerNames, labels: Record<string, string>): Promise<void> {
  try {
    await d.getVolume(names.sourceVolume).inspect();
  } catch (err) {
    if (statusOf(err) !== 404) throw engineUnavailable(err);
    await d.createVolume({ Name: names.sourceVolume, Labels: { ...labels, [LABEL_ROLE]: 'source' } });
  }
}

/** Agent volumes of earlier skiff versions for this instance, no longer mounted: removed. */
export async function removeStaleAgentVolumes(d: Docker, instance: Instance, current: string): Promise<void> {
  const { Volumes } = await d.listVolumes({ filters: { label: [`${LABEL_INSTANCE}=${instance.name}`, `${LABEL_ROLE}=agent`] } });
  for (const v of Volumes ?? []) {
    if (v.Name !== current) await d.getVolume(v.Name).remove().catch(() => undefined); // still in use by an old container: next time
  }
}
