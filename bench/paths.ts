import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The workspace root, found from this file rather than the working directory. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
export const RESULTS_DIR = join(REPO_ROOT, 'bench/results');
/** Bundled probe programs; inside the workspace so external native modules resolve. */
export const BUILD_DIR = join(RESULTS_DIR, '.build');
export const HELLO_NODE_DIR = join(REPO_ROOT, 'examples/hello-node');
