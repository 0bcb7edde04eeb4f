import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { parseDocument } from 'yaml';
import { readBundleManifest } from '@skiff/agent';
import { instanceOf, LABEL_INSTANCE, type Instance } from '../../packages/daemon/src/targets/instance.ts';
import { dockerNames } from '../../packages/daemon/src/targets/docker/spec.ts';
import { docker } from './docker-engine.ts';
import { BUNDLE_DIR } from './docker-images.ts';
import { listTree } from './tree-compare.ts';

/**
 * A project on the Docker target as the tests run it, through the `skiff`
 * command: an example copied into a temp dir whose skiff.yaml is pointed at a
 * test image (the example in the repository stays as a user writes it), and
 * the project's instance, whose label finds everything skiff made for it.
 */

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples', import.meta.url));
/** The container side of the examples' app port. */
export const APP_PORT = 8080;

export interface DockerProject {
  dir: string;
  /** skiff.yaml's name (the instance name is made from it and the directory). */
  name: string;
  instance: Instance;
  /** The host port published for APP_PORT; 0 when none is. */
  hostPort: number;
}

/** A port free on 127.0.0.1 right now, for a `HOST:CONTAINER` mapping. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Sets top-level fields of `dir`'s skiff.yaml, keeping its comments and the other fields. */
export async function setYaml(dir: string, fields: Record<string, unknown>): Promise<void> {
  const path = join(dir, 'skiff.yaml');
  const doc = parseDocument(await readFile(path, 'utf8').catch(() => ''));
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) doc.delete(key);
    else doc.set(key, value);
  }
  await writeFile(path, doc.toString());
}

/**
 * Copies examples/`example` to `parent`/`example` and points it at the Docker
 * target: `target: docker`, the test `image`, the app port published on a
 * free host port, and any other `fields`.
 */
export async function dockerExample(example: string, parent: string, image: string, fields: Record<string, unknown> = {}): Promise<DockerProject> {
  const dir = join(parent, example);
  await cp(join(EXAMPLES_DIR, example), dir, { recursive: true });
  const hostPort = await freePort();
  await setYaml(dir, { target: 'docker', image, ports: [`${hostPort}:${APP_PORT}`], ...fields });
  const name = (parseDocument(await readFile(join(dir, 'skiff.yaml'), 'utf8')).get('name') as string | undefined) ?? basename(dir);
  return { dir, name, hostPort, instance: instanceOf(dir, name) };
}

/**
 * A project of a test's own making in `dir` (made if missing), publishing no
 * port: its skiff.yaml names `name`, the Docker target, `image` and any
 * other `fields`.
 */
export async function dockerProjectIn(dir: string, name: string, image: string, fields: Record<string, unknown> = {}): Promise<DockerProject> {
  await mkdir(dir, { recursive: true });
  await setYaml(dir, { name, target: 'docker', image, ...fields });
  return { dir, name, hostPort: 0, instance: instanceOf(dir, name) };
}

/** The label filter that finds a project's containers and volumes. */
export function instanceFilter(instance: Instance): { label: string[] } {
  return { label: [`${LABEL_INSTANCE}=${instance.name}`] };
}

/** The containers and volumes carrying the project's instance label. */
export async function instanceObjects(instance: Instance): Promise<{ containers: Docker.ContainerInfo[]; volumes: string[] }> {
  const filters = instanceFilter(instance);
  const containers = await docker.listContainers({ all: true, filters });
  const { Volumes } = await docker.listVolumes({ filters });
  return { containers, volumes: (Volumes ?? []).map((v) => v.Name) };
}

/** Removes what skiff made for the project (a test that failed before `skiff delete` leaves it). */
export async function removeInstance(instance: Instance): Promise<void> {
  const tolerate = (err: unknown) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw err;
  };
  const { containers, volumes } = await instanceObjects(instance);
  for (const c of containers) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(tolerate);
  for (const v of volumes) await docker.getVolume(v).remove().catch(tolerate);
}

/** The app container of the project (its name is the instance name). */
export function appContainer(project: DockerProject): Docker.Container {
  return docker.getContainer(project.instance.name);
}

/**
 * The agent image the Docker target builds from Dockerfile.agent when it is
 * missing (`skiff-agent:<bundle version>`). It carries skiff's labels, not
 * the tests': `release()` removes it when it was not there before, so a
 * test file leaves the engine's images as it found them.
 */
export async function agentImageGuard(): Promise<{ tag: string; existedBefore: boolean; release(): Promise<void> }> {
  const manifest = await readBundleManifest(BUNDLE_DIR);
  const tag = dockerNames(instanceOf('/', 'any'), manifest).agentImage;
  const existedBefore = await docker
    .getImage(tag)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  return {
    tag,
    existedBefore,
    release: async () => {
      if (existedBefore) return;
      // 409: a container of another run still uses it; 404: already gone.
      await docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
    },
  };
}

/** One entry of a container's tree, in tree-compare's listTree words: type, permission bits, and content digest (localTree's) or link target. */
function describeEntry(type: string, mode: number, detail: string): string {
  return `${type} ${(mode & 0o777).toString(8)}${detail ? ` ${detail}` : ''}`;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * What a container holds under `dir`, through the Engine API's archive
 * endpoint (which reads a volume mounted there, running or not): relative
 * path → "file 644 <sha256>" / "dir 755" / "symlink 777 -> target".
 */
export async function containerTree(container: Docker.Container, dir: string): Promise<Map<string, string>> {
  const stream = await container.getArchive({ path: dir });
  const top = basename(dir);
  const out = new Map<string, string>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, body, next) => {
      const parts: Buffer[] = [];
      body.on('data', (d: Buffer) => parts.push(d));
      body.on('end', () => {
        const name = header.name.replace(/\/$/, '');
        const rel = name === top ? '' : name.slice(top.length + 1);
        if (rel !== '') {
          const mode = header.mode ?? 0;
          if (header.type === 'directory') out.set(rel, describeEntry('dir', mode, ''));
          else if (header.type === 'symlink') out.set(rel, `symlink -> ${header.linkname}`);
          else if (header.type === 'file') out.set(rel, describeEntry('file', mode, sha256(Buffer.concat(parts))));
          else out.set(rel, `${header.type}`);
        }
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  stream.pipe(ex);
  await done;
  return out;
}

/**
 * The same description of a local tree, leaving out what `skip` names
 * (ignored paths): tree-compare's listing, each file's size replaced by its
 * content digest.
 */
export async function localTree(root: string, skip: (rel: string) => boolean): Promise<Map<string, string>> {
  const out = await listTree(root, skip);
  for (const [rel, desc] of out) {
    const [type, mode] = desc.split(' ');
    if (type === 'file') out.set(rel, `file ${mode} ${sha256(await readFile(join(root, rel)))}`);
  }
  return out;
}

/** Every difference between two described trees, as lines; empty when they are equal. */
export function treeDiff(expected: Map<string, string>, actual: Map<string, string>): string[] {
  const diffs: string[] = [];
  for (const rel of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(rel);
    const got = actual.get(rel);
    if (want === undefined) diffs.push(`extra: ${rel} (${got})`);
    else if (got === undefined) diffs.push(`missing: ${rel} (${want})`);
    else if (want !== got) diffs.push(`differs: ${rel}: expected ${want}, got ${got}`);
  }
  return diffs.sort();
}

/** The agent's temporary names (`.skiff-tmp-*`) in a described tree. */
export function tempNames(tree: Map<string, string>): string[] {
  return [...tree.keys()].filter((rel) => basename(rel).startsWith('.skiff-tmp-'));
}
