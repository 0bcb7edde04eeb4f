import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBundleManifest } from '@skiff/agent';
import { dynamicDeps } from '../../scripts/ldd.mjs';
import { RUN_LABEL, RUN_ID, TEST_LABEL, docker, followProgress } from './docker-engine.ts';

/**
 * Images for the Docker tests, made without a registry. App images are
 * imported from a root filesystem staged here and tarred (`docker import`):
 * - busybox: Debian's busybox-static and its applets, nothing else: no node,
 *   no libc, no loader. Its LD_LIBRARY_PATH names a directory holding a
 *   broken libc.so.6, which the agent must never load and the app must see.
 * - node: this machine's node with the libraries ldd lists and its loader,
 *   /bin/sh from busybox: a glibc image whose own node is the app's.
 * Each is tagged with a digest of what it is made of and reused while that
 * holds (removed by docker-cleanup.ts). The agent image is built from
 * Dockerfile.agent with the documented command, tagged with the bundle's
 * version and labelled with this run, whose cleanup removes it.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BUNDLE_DIR = join(REPO, 'packages', 'agent', 'dist', 'bundle');

/** Part of every tag's digest: a change of recipe below makes new images. */
const RECIPE_VERSION = 1;
const DIGEST_HEX = 16;

export const ImageKind = { BUSYBOX: 'busybox', NODE: 'node' } as const;
export type ImageKind = (typeof ImageKind)[keyof typeof ImageKind];

/** The test images' own variable, to show that the app runs with the image's environment. */
export const IMAGE_MARKER_VAR = 'SKIFF_TEST_IMAGE';
/** In the busybox image: a directory whose libc.so.6 is garbage, named by the image's LD_LIBRARY_PATH. */
export const BROKEN_LIB_DIR = '/opt/broken-lib';

export interface TestImage {
  kind: ImageKind;
  tag: string;
  /** What the image sets in its environment, PATH aside. */
  env: Record<string, string>;
}

const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NODE_IN_IMAGE = '/usr/local/bin/node';
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

/** One entry of a staged root filesystem; paths are relative to its root. */
type RootEntry =
  | { path: string; file: string; mode: number }
  | { path: string; text: string; mode: number }
  | { path: string; link: string }
  | { path: string; dir: number };

/** The statically linked busybox of Debian's busybox-static; throws saying what to install. */
export function staticBusybox(): string {
  for (const candidate of BUSYBOX_CANDIDATES) {
    if (existsSync(candidate) && dynamicDeps(candidate).static) return realpathSync(candidate);
  }
  throw new Error(`no statically linked busybox at ${BUSYBOX_CANDIDATES.join(' or ')}: install Debian's busybox-static (apt-get install busybox-static)`);
}

function busyboxEntries(busybox: string): RootEntry[] {
  const list = spawnSync(busybox, ['--list'], { encoding: 'utf8' });
  if (list.status !== 0) throw new Error(`${busybox} --list failed: ${list.stderr}`);
  const applets = list.stdout.split('\n').filter((name) => name !== '' && name !== 'busybox');
  if (!applets.includes('sh') || !applets.includes('httpd')) throw new Error(`${busybox} lacks the sh or httpd applet`);
  return [
    { path: 'bin', dir: 0o755 },
    { path: 'bin/busybox', file: busybox, mode: 0o755 },
    ...applets.map((name) => ({ path: `bin/${name}`, link: 'busybox' })),
    { path: 'tmp', dir: 0o1777 },
    { path: 'root', dir: 0o700 },
    { path: 'etc', dir: 0o755 },
    { path: 'etc/passwd', text: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n', mode: 0o644 },
    { path: 'etc/group', text: 'root:x:0:\nnogroup:x:65534:\n', mode: 0o644 },
  ];
}

interface Recipe {
  repo: string;
  entries: RootEntry[];
  env: Record<string, string>;
  cmd: string[];
}

function busyboxRecipe(): Recipe {
  return {
    repo: 'skiff-test-busybox',
    entries: [
      ...busyboxEntries(staticBusybox()),
      { path: BROKEN_LIB_DIR.slice(1), dir: 0o755 },
      { path: `${BROKEN_LIB_DIR.slice(1)}/libc.so.6`, text: 'not a shared library\n', mode: 0o755 },
    ],
    env: { [IMAGE_MARKER_VAR]: ImageKind.BUSYBOX, LD_LIBRARY_PATH: BROKEN_LIB_DIR },
    cmd: ['/bin/sh'],
  };
}

function nodeRecipe(): Recipe {
  const node = realpathSync(process.execPath);
  const deps = dynamicDeps(node);
  // Each library where ldd found it, the loader where node's ELF header names it.
  const libs: RootEntry[] = [...deps.libs, ...(deps.loader ? [deps.loader] : [])].map((lib) => ({ path: lib.path.slice(1), file: lib.real, mode: 0o755 }));
  return {
    repo: 'skiff-test-node',
    entries: [...busyboxEntries(staticBusybox()), { path: NODE_IN_IMAGE.slice(1), file: node, mode: 0o755 }, ...libs],
    env: { [IMAGE_MARKER_VAR]: ImageKind.NODE },
    cmd: ['node'],
  };
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function recipeDigest(recipe: Recipe): string {
  const hash = createHash('sha256').update(JSON.stringify({ RECIPE_VERSION, env: recipe.env, cmd: recipe.cmd }));
  for (const entry of recipe.entries) {
    if ('file' in entry) hash.update(`file ${entry.path} ${entry.mode} ${sha256File(entry.file)}\n`);
    else hash.update(`${JSON.stringify(entry)}\n`);
  }
  return hash.digest('hex').slice(0, DIGEST_HEX);
}

async function imageExists(tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

async function stage(root: string, entries: readonly RootEntry[]): Promise<void> {
  for (const entry of entries) {
    const path = join(root, entry.path);
    await mkdir(dirname(path), { recursive: true });
    if ('dir' in entry) {
      await mkdir(path, { recursive: true });
      await chmod(path, entry.dir);
    } else if ('link' in entry) {
      await symlink(entry.link, path);
    } else {
      if ('file' in entry) await copyFile(entry.file, path);
      else await writeFile(path, entry.text);
      await chmod(path, entry.mode);
    }
  }
}

/** Stages the root filesystem, tars it and imports it as `tag`. */
async function importRecipe(recipe: Recipe, tag: string): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'skiff-test-rootfs-'));
  try {
    await stage(root, recipe.entries);
    const tar = spawn('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tarErr = '';
    tar.stderr.setEncoding('utf8').on('data', (text: string) => (tarErr += text));
    const tarDone = new Promise<number | null>((resolve, reject) => {
      tar.once('error', reject);
      tar.once('close', resolve);
    });
    const [repo, version] = tag.split(':');
    const changes = [
      `LABEL ${TEST_LABEL}=1`,
      `ENV PATH=${IMAGE_PATH}`,
      ...Object.entries(recipe.env).map(([name, value]) => `ENV ${name}=${value}`),
      `CMD ${JSON.stringify(recipe.cmd)}`,
    ];
    const progress = await docker.importImage(tar.stdout, { repo, tag: version, changes });
    await followProgress(progress);
    const code = await tarDone;
    if (code !== 0) throw new Error(`tar of the staged image failed (exit ${code}): ${tarErr}`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function ensureImage(kind: ImageKind, recipe: Recipe): Promise<TestImage> {
  const tag = `${recipe.repo}:${recipeDigest(recipe)}`;
  if (!(await imageExists(tag))) await importRecipe(recipe, tag);
  return { kind, tag, env: recipe.env };
}

/** The busybox-only image: no node, no libc, no loader. */
export function busyboxImage(): Promise<TestImage> {
  return ensureImage(ImageKind.BUSYBOX, busyboxRecipe());
}

/** A glibc image with its own node (this machine's) and busybox's /bin/sh. */
export function nodeImage(): Promise<TestImage> {
  return ensureImage(ImageKind.NODE, nodeRecipe());
}

export function testImage(kind: ImageKind): Promise<TestImage> {
  return kind === ImageKind.BUSYBOX ? busyboxImage() : nodeImage();
}

/** Where the agent image keeps its bundle, and where its default command copies it to (Dockerfile.agent). */
export const AGENT_IMAGE_BUNDLE = '/opt/skiff-agent';
export const AGENT_IMAGE_COPY_TO = '/mnt/skiff-agent';

/**
 * Builds the agent image from Dockerfile.agent exactly as the README says
 * (`docker build -f Dockerfile.agent -t ... .` from the repository root, its
 * .dockerignore applied), with the legacy builder, which needs no registry
 * and no buildx. Labelled with this run: the run's cleanup removes it.
 */
export async function agentImage(): Promise<{ tag: string; version: string }> {
  const { version } = await readBundleManifest(BUNDLE_DIR);
  const tag = `skiff-test-agent:${version}`;
  if (await imageExists(tag)) return { tag, version };
  const args = ['build', '-f', 'Dockerfile.agent', '-t', tag, '--label', `${TEST_LABEL}=1`, '--label', `${RUN_LABEL}=${RUN_ID}`, '.'];
  const build = spawn('docker', args, { cwd: REPO, env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  build.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  build.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  const code = await new Promise<number | null>((resolve, reject) => {
    build.once('error', (err) => reject(new Error(`cannot run the docker CLI to build Dockerfile.agent: ${err.message}`)));
    build.once('close', resolve);
  });
  if (code !== 0) throw new Error(`docker ${args.join(' ')} exited with ${code}:\n${output}`);
  return { tag, version };
}
