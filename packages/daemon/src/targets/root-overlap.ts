import { realpathSync } from 'node:fs';
import { dirname, relative, resolve, isAbsolute, basename, join } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';

/**
 * Refuses an agent root that overlaps the project. An agent root holding the
 * project would delete it (the project is not in its own tree); one inside
 * the project would be synced into itself. Compared on real paths, so a
 * symlinked spelling of the same directory is caught too.
 */
export function assertRootsApart(project: string, agentRoot: string): void {
  if (rootsOverlap(project, agentRoot)) {
    throw new SkiffError(
      ErrorCode.CONFIG,
      `the agent root ${agentRoot} and the project ${project} overlap; skiff would sync the project into itself or delete it: choose an agent root outside the project (or leave --local-root out)`,
    );
  }
}

/** Whether two directories are the same, or one holds the other (on real paths). */
export function rootsOverlap(one: string, other: string): boolean {
  const a = realish(one);
  const b = realish(other);
  return a === b || within(a, b) || within(b, a);
}

/** Whether two spellings name the same directory (on real paths). */
export function sameRoot(one: string, other: string): boolean {
  return realish(one) === realish(other);
}

function within(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** realpath of the nearest existing ancestor, with the rest appended: the agent root may not exist yet. */
function realish(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realish(parent), basename(abs));
  }
}
