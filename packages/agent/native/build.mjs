// Builds the reaper addon (native/build/Release/reaper.node) with node-gyp.
// The agent runs without it (it warns once and does not reap orphans), so a
// machine without a C toolchain still builds skiff: a failure here warns and
// exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function warn(reason) {
  console.warn(`skiff: the agent's zombie reaper was not built (${reason}); the agent will run without reaping orphans.`);
  process.exit(0);
}

let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch (err) {
  warn(`node-gyp not found: ${err.message}`);
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
if (result.error) warn(result.error.message);
if (result.status !== 0) warn(`node-gyp exited with ${result.status ?? result.signal}`);
