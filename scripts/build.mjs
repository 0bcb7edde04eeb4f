// Bundles each program into one ESM file so the installed bins start with plain
// node: transpiling TypeScript at every call costs about 1 s. Runs on npm ci/install.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const programs = [
  { entry: 'packages/cli/src/main.ts', out: 'packages/cli/dist/skiff.js' },
  { entry: 'packages/daemon/src/main.ts', out: 'packages/daemon/dist/skiffd.js' },
  { entry: 'packages/agent/src/main.ts', out: 'packages/agent/dist/skiff-agent.js' },
];

for (const { entry, out } of programs) {
  if (!existsSync(entry)) continue;
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    // Native and optional modules stay outside the bundle and load from node_modules.
    external: ['@parcel/watcher', 'bufferutil', 'utf-8-validate', 'fsevents', '*.node'],
    // Bundled CommonJS dependencies call require(); give ESM output one.
    banner: { js: "import { createRequire as __skiffRequire } from 'node:module'; const require = __skiffRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}

// The agent's zombie reaper (a Node-API addon). Its script warns and exits 0
// when no C toolchain is there: the agent then runs without reaping.
spawnSync(process.execPath, ['packages/agent/native/build.mjs'], { stdio: 'inherit' });
