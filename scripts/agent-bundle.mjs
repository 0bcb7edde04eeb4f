// Assembles packages/agent/dist/bundle: a skiff agent that runs as PID 1 in any
// Linux image, with or without Node, glibc or musl. It holds this machine's
// node binary, the shared libraries `ldd` lists for it and the dynamic loader
// (lib/), the bundled agent (skiff-agent.js), the reaper addon and any skiff-*
// native helper. It starts through its own loader, so nothing of the image is
// used to run it:
//
//   DIR/lib/ld-linux-x86-64.so.2 --library-path DIR/lib DIR/node DIR/skiff-agent.js --root ...
//
// `--library-path` replaces LD_LIBRARY_PATH for this one process only, so the
// image's LD_LIBRARY_PATH cannot swap our libraries, and the app started by
// the agent gets the image's environment unchanged.
//
// manifest.json says how to launch the bundle (the loader's name depends on
// the machine) and lists every file with its sha256; VERSION is a digest of
// that list, for naming the agent image and volume after their content.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dynamicDeps } from './ldd.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const THIS_SCRIPT = fileURLToPath(import.meta.url);
const LDD_SCRIPT = fileURLToPath(new URL('./ldd.mjs', import.meta.url));
export const BUNDLE_DIR = join(REPO, 'packages/agent/dist/bundle');
/** What the last assembly was made from, to skip the next one when nothing changed. Outside the bundle: it names host paths. */
const STAMP = join(REPO, 'packages/agent/dist/bundle.inputs.json');
const AGENT_JS = join(REPO, 'packages/agent/dist/skiff-agent.js');
const NATIVE_DIR = join(REPO, 'packages/agent/native/build/Release');
const ADDON = 'reaper.node';
/** Native helpers built next to the addon are shipped too. */
const NATIVE_HELPER_PREFIX = 'skiff-';

/** The bundle's layout, also written into manifest.json for whoever launches it. */
export const Layout = {
  MANIFEST: 'manifest.json',
  VERSION: 'VERSION',
  NODE: 'node',
  ENTRY: 'skiff-agent.js',
  LIB_DIR: 'lib',
  /** Marks skiff-agent.js as ESM wherever the bundle is copied (no package.json above it there). */
  PACKAGE_JSON: 'package.json',
};
const MANIFEST_FORMAT = 1;
/** Hex digits of the content digest kept as the version: 64 bits, short enough for an image tag. */
const VERSION_HEX_DIGITS = 16;
/**
 * The bundle is rebuilt only when an input differs from the last assembly
 * (npm test builds every time). Inputs up to this size are compared by
 * content, since esbuild rewrites its output on every build with the same
 * bytes; larger ones (node, libc) by size, mtime and inode, which costs nothing.
 */
const CONTENT_COMPARE_MAX_BYTES = 4 * 1024 * 1024;
const EXECUTABLE_MODE = 0o755;
const FILE_MODE = 0o644;

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The libraries and loader the given files need, by the name the loader looks for. */
function dependenciesOf(files) {
  const libs = new Map();
  let loader = null;
  for (const file of files) {
    const deps = dynamicDeps(file);
    for (const lib of deps.libs) libs.set(lib.name, lib.real);
    if (deps.loader) loader = { name: deps.loader.name, path: deps.loader.real };
  }
  return { libs, loader };
}

function nativeFiles() {
  if (!existsSync(NATIVE_DIR)) return [];
  return readdirSync(NATIVE_DIR, { withFileTypes: true })
    .filter((e) => e.isFile() && (e.name === ADDON || (e.name.startsWith(NATIVE_HELPER_PREFIX) && (statSync(join(NATIVE_DIR, e.name)).mode & 0o111) !== 0)))
    .map((e) => ({ name: e.name, path: join(NATIVE_DIR, e.name), executable: e.name !== ADDON }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function fingerprint(path) {
  const st = statSync(path);
  return st.size <= CONTENT_COMPARE_MAX_BYTES ? `sha256:${sha256(path)}` : `stat:${st.size}:${st.mtimeMs}:${st.ino}`;
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** Copies node without its symbols (12 MiB less on node 20) when `strip` is there, else as it is. */
function copyNode(src, dest) {
  const stripped = spawnSync('strip', ['--strip-all', '-o', dest, src], { stdio: 'ignore' });
  if (stripped.error || stripped.status !== 0) copyFileSync(src, dest);
}

/**
 * Builds the bundle when an input changed; returns its manifest, or null when
 * this machine cannot make one (not Linux, no agent build yet).
 */
export function assembleAgentBundle({ warn = (m) => console.warn(m), info = (m) => console.log(m) } = {}) {
  if (process.platform !== 'linux') {
    warn(`skiff: the self-contained agent bundle is built on Linux only (this is ${process.platform}); the Docker target needs it.`);
    return null;
  }
  if (!existsSync(AGENT_JS)) {
    warn(`skiff: ${relative(REPO, AGENT_JS)} is missing; the agent bundle was not built.`);
    return null;
  }
  const started = performance.now();
  const node = realpathSync(process.execPath);
  const natives = nativeFiles();
  let deps;
  try {
    deps = dependenciesOf([node, ...natives.map((n) => n.path)]);
  } catch (err) {
    // Like the addon: the rest of skiff builds and runs without it.
    warn(`skiff: the self-contained agent bundle was not built (${err.message}); the Docker target needs it.`);
    return null;
  }
  const inputs = [THIS_SCRIPT, LDD_SCRIPT, node, AGENT_JS, ...natives.map((n) => n.path), ...deps.libs.values(), ...(deps.loader ? [deps.loader.path] : [])];
  const stamp = { inputs: Object.fromEntries(inputs.map((p) => [p, fingerprint(p)])), libs: Object.fromEntries(deps.libs), loader: deps.loader };
  const previous = readJson(STAMP);
  const current = readJson(join(BUNDLE_DIR, Layout.MANIFEST));
  if (current && previous && previous.version === current.version && JSON.stringify(previous.stamp) === JSON.stringify(stamp)) return current;

  // Assembled aside and swapped in whole: a reader finds the old bundle, none or the new one, never half of one.
  const tmp = join(REPO, `packages/agent/dist/.bundle-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, Layout.LIB_DIR), { recursive: true });
  const files = [];
  const add = (path, mode) => {
    chmodSync(join(tmp, path), mode);
    files.push({ path, mode, size: statSync(join(tmp, path)).size, sha256: sha256(join(tmp, path)) });
  };
  copyNode(node, join(tmp, Layout.NODE));
  add(Layout.NODE, EXECUTABLE_MODE);
  copyFileSync(AGENT_JS, join(tmp, Layout.ENTRY));
  add(Layout.ENTRY, FILE_MODE);
  writeFileSync(join(tmp, Layout.PACKAGE_JSON), `${JSON.stringify({ type: 'module' })}\n`);
  add(Layout.PACKAGE_JSON, FILE_MODE);
  for (const native of natives) {
    copyFileSync(native.path, join(tmp, native.name));
    add(native.name, native.executable ? EXECUTABLE_MODE : FILE_MODE);
  }
  for (const [name, path] of deps.libs) {
    if (name === deps.loader?.name) continue;
    copyFileSync(path, join(tmp, Layout.LIB_DIR, name));
    add(`${Layout.LIB_DIR}/${name}`, FILE_MODE);
  }
  // The loader is executed (it runs node), so it keeps an execute bit.
  const loader = deps.loader ? `${Layout.LIB_DIR}/${deps.loader.name}` : null;
  if (deps.loader) {
    copyFileSync(deps.loader.path, join(tmp, loader));
    add(loader, EXECUTABLE_MODE);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const digest = createHash('sha256');
  for (const f of files) digest.update(`${f.mode.toString(8)} ${f.sha256} ${f.path}\n`);
  const version = digest.digest('hex').slice(0, VERSION_HEX_DIGITS);
  const manifest = {
    format: MANIFEST_FORMAT,
    version,
    platform: `${process.platform}-${process.arch}`,
    nodeVersion: process.version,
    // null for a statically linked node: it is run directly.
    loader,
    libDir: Layout.LIB_DIR,
    node: Layout.NODE,
    entry: Layout.ENTRY,
    files,
  };
  writeFileSync(join(tmp, Layout.VERSION), `${version}\n`);
  writeFileSync(join(tmp, Layout.MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(BUNDLE_DIR, { recursive: true, force: true });
  renameSync(tmp, BUNDLE_DIR);
  writeFileSync(STAMP, `${JSON.stringify({ version, stamp }, null, 2)}\n`);
  const mib = files.reduce((n, f) => n + f.size, 0) / 2 ** 20;
  info(`skiff: agent bundle ${version} (${mib.toFixed(1)} MiB, ${files.length} files) in ${relative(REPO, BUNDLE_DIR)}, ${Math.round(performance.now() - started)} ms`);
  return manifest;
}

if (process.argv[1] === THIS_SCRIPT) assembleAgentBundle();
