import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';

/** Mode of a root the agent creates. */
export const ROOT_DIR_MODE = 0o755;

/**
 * The root the agent writes under: created when missing, then resolved to its
 * real path once, so that every later check (no symlink in a parent) starts
 * from a real directory. The operator chose the root; only what is under it
 * comes from the wire.
 */
export function prepareRoot(root: string): string {
  const wanted = resolve(root);
  try {
    mkdirSync(wanted, { recursive: true, mode: ROOT_DIR_MODE });
    const real = realpathSync(wanted);
    if (!lstatSync(real).isDirectory()) throw new Error('not a directory');
    return real;
  } catch (cause) {
    throw new SkiffError(ErrorCode.AGENT_START, `cannot use ${wanted} as the sync root: ${(cause as Error).message}`, { cause, path: wanted });
  }
}
