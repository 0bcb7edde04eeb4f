import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILD_DIR, REPO_ROOT } from '../paths.ts';
import { WatcherKind } from './kinds.ts';

/**
 * Builds one probe program per watcher with esbuild, the way the daemon is
 * shipped (scripts/build.mjs): plain node then runs it, so the memory figures
 * are the watcher's and node's, not a TypeScript loader's. The bundles go to
 * bench/results/.build so that native modules left external still resolve
 * from the workspace's node_modules.
 */

/** skiff's watcher, as the daemon's watch concern exports it. */
export const SKIFF_WATCH_MODULE = join(REPO_ROOT, 'packages/daemon/src/watch/watch-tree.ts');

const MODULES: Record<WatcherKind, string> = {
  [WatcherKind.SKIFF]: SKIFF_WATCH_MODULE,
  [WatcherKind.PARCEL]: '@parcel/watcher',
  [WatcherKind.CHOKIDAR]: 'chokidar',
};

/** Native or platform-only modules: loaded from node_modules at run time, as in the daemon's bundle. */
const EXTERNAL = ['@parcel/watcher', 'fsevents', 'bufferutil', 'utf-8-validate', '*.node'];

export async function bundleProbe(kind: WatcherKind): Promise<string> {
  if (kind === WatcherKind.SKIFF && !existsSync(SKIFF_WATCH_MODULE)) {
    throw new Error(`${SKIFF_WATCH_MODULE} does not exist yet`);
  }
  const { build } = await import('esbuild');
  await mkdir(BUILD_DIR, { recursive: true });
  const outfile = join(BUILD_DIR, `watch-probe-${kind}.mjs`);
  const child = join(REPO_ROOT, 'bench/watchers/probe-child.ts');
  const contents = [
    `import { runProbe } from ${JSON.stringify(child)};`,
    `import * as ns from ${JSON.stringify(MODULES[kind])};`,
    // CommonJS libraries arrive as a default export, ESM ones as the namespace.
    'const lib = { ...(ns.default ?? {}), ...ns };',
    `await runProbe(${JSON.stringify(kind)}, lib);`,
  ].join('\n');
  await build({
    stdin: { contents, resolveDir: REPO_ROOT, sourcefile: `watch-probe-${kind}.ts`, loader: 'ts' },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    banner: { js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);" },
    logLevel: 'silent',
  });
  return outfile;
}
