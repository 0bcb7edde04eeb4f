// Bundles each program into one ESM file so the installed bins start with plain
// node: transpiling TypeScript at every call costs about 1 s. Runs on npm ci/install.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

// The CLI is split: commands that only talk to the daemon load a small chunk;
// the one-shot push loads the sync pipeline on demand.
const programs = [
  { entry: 'packages/cli/src/main.ts', outdir: 'packages/cli/dist', name: 'skiff', splitting: true },
  { entry: 'packages/daemon/src/main.ts', outdir: 'packages/daemon/dist', name: 'skiffd', splitting: false },
  { entry: 'packages/agent/src/main.ts', outdir: 'packages/agent/dist', name: 'skiff-agent', splitting: false },
];

for (const { entry, outdir, name, splitting } of programs) {
  if (!existsSync(entry)) continue;
  const { metafile } = await build({
    metafile: true,
    entryPoints: { [name]: entry },
    outdir,
    splitting,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    // Native and optional modules stay outside the bundle and load from node_modules, and so do the
    // container engines' clients, loaded on demand by their targets (their own dependencies expect CommonJS).
    external: ['@parcel/watcher', 'bufferutil', 'utf-8-validate', 'fsevents', '*.node', 'dockerode', '@kubernetes/client-node'],
    // Bundled CommonJS dependencies call require(); give ESM output one.
    banner: { js: "import { createRequire as __skiffRequire } from 'node:module'; const require = __skiffRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  // Chunk names carry their content's hash: the chunks of earlier builds would pile up (100 MB after a day of rebuilds).
  const chunks = join(outdir, 'chunks');
  if (splitting && existsSync(chunks)) {
    const current = new Set(Object.keys(metafile.outputs).map((out) => relative(chunks, out)));
    for (const file of readdirSync(chunks)) if (!current.has(file)) rmSync(join(chunks, file));
  }
}

// The agent's native parts: the zombie reaper (a Node-API addon) and
// skiff-launch (ties an app's process group to the agent). Their script warns
// and exits 0 when no C toolchain is there: the agent then runs without them.
// Skipped when every output is newer than every source (npm test builds every time).
const nativeOutputs = ['packages/agent/native/build/Release/reaper.node', 'packages/agent/native/build/Release/skiff-launch'];
const nativeSources = ['packages/agent/native/reaper.c', 'packages/agent/native/list-dir.c', 'packages/agent/native/list-dir.h', 'packages/agent/native/napi-args.h', 'packages/agent/native/binding.gyp', 'packages/agent/native/skiff-launch.c', 'packages/agent/native/build.mjs'];
const newestSource = Math.max(...nativeSources.filter((src) => existsSync(src)).map((src) => statSync(src).mtimeMs));
const nativeCurrent = nativeOutputs.every((out) => existsSync(out) && statSync(out).mtimeMs >= newestSource);
if (!nativeCurrent) spawnSync(process.execPath, ['packages/agent/native/build.mjs'], { stdio: 'inherit' });

// The self-contained agent for container images (Dockerfile.agent), after the
// addon it ships. Skipped when none of its inputs changed.
const { assembleAgentBundle } = await import('./agent-bundle.mjs');
assembleAgentBundle();
