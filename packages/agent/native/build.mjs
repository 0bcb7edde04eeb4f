// Builds the agent's native parts into native/build/Release/:
// - reaper.node, the Node-API addon (node-gyp): zombie reaping as PID 1;
// - skiff-launch, the app's process-group leader that takes the app down
//   with the agent (see skiff-launch.c), linked statically when the C library
//   allows it so that one binary runs in any Linux image of the same CPU.
// The agent runs without either (it warns once and runs the app under plain
// /bin/sh, without reaping), so a machine without a C toolchain still builds
// skiff: a failure here warns and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const release = join(here, 'build', 'Release');
const require = createRequire(import.meta.url);

function warn(what, consequence, reason) {
  console.warn(`skiff: ${what} was not built (${reason}); ${consequence}`);
}

function buildReaper() {
  const consequence = 'the agent will run without reaping orphans.';
  let gyp;
  try {
    gyp = require.resolve('node-gyp/bin/node-gyp.js');
  } catch (err) {
    return warn("the agent's zombie reaper", consequence, `node-gyp not found: ${err.message}`);
  }
  // Compile against the headers of the node that runs this script (e.g. /usr for
  // /usr/bin/node) when it ships them, so the build needs no download. An
  // explicit npm_config_nodedir wins.
  const args = [gyp, 'rebuild'];
  const prefix = dirname(dirname(process.execPath));
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
    args.push(`--nodedir=${prefix}`);
  }
  const result = spawnSync(process.execPath, args, { cwd: here, stdio: 'inherit' });
  if (result.error) return warn("the agent's zombie reaper", consequence, result.error.message);
  if (result.status !== 0) warn("the agent's zombie reaper", consequence, `node-gyp exited with ${result.status ?? result.signal}`);
}

// After node-gyp: its `rebuild` empties build/ first.
function buildLauncher() {
  const consequence = 'the agent will run apps under plain /bin/sh, and an agent killed with SIGKILL leaves its app running.';
  const cc = process.env.CC || 'cc';
  mkdirSync(release, { recursive: true });
  const base = ['-Wall', '-Wextra', '-O2', '-s', '-o', join(release, 'skiff-launch'), join(here, 'skiff-launch.c')];
  let last = '';
  // Static first (runs on glibc and musl images alike); dynamic when the C library has no static archive.
  for (const link of [['-static'], []]) {
    const result = spawnSync(cc, [...base, ...link], { cwd: here, encoding: 'utf8' });
    if (result.error) return warn('skiff-launch', consequence, `${cc}: ${result.error.message}`);
    if (result.status === 0) {
      if (result.stderr) process.stderr.write(result.stderr);
      if (link.length === 0) console.warn('skiff: skiff-launch is linked dynamically (no static C library): it runs only in images with the same C library.');
      return;
    }
    last = result.stderr.trim().split('\n').slice(-3).join(' | ');
  }
  warn('skiff-launch', consequence, `${cc} failed: ${last}`);
}

buildReaper();
buildLauncher();
