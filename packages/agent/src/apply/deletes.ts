import { join } from 'node:path';
import { parentOf, type Problem } from '@skiff/protocol';
import type { ApplyContext } from './context.ts';
import { toProblem } from './io-error.ts';
import { isTempName } from './temp-name.ts';

/**
 * The deletes of a batch, run at commit after all its writes, so that a file
 * moved from one name to another is never missing from both.
 *
 * A batch describes a new state: the old tree minus the deleted subtrees plus
 * what the batch wrote. So a delete never removes a path the batch itself
 * wrote, nor a directory the batch wrote into; inside such a directory it
 * removes only what the batch did not write. That makes "file becomes a
 * directory" (DELETE a, MKDIR a, FILE a/b) and the reverse come out right
 * whatever order the frames came in. Ancestors sort before descendants, so a
 * delete under an already deleted directory finds nothing and is a no-op, as
 * is a delete of a missing path. Returns the wire paths that removed something.
 */
export function applyDeletes(ctx: ApplyContext, deletes: Iterable<string>, written: ReadonlySet<string>, problems: Problem[]): string[] {
  const sorted = [...deletes].sort();
  if (sorted.length === 0) return [];
  const kept = withAncestors(written);
  const removed: string[] = [];
  for (const path of sorted) {
    try {
      if (ctx.guard.parents(path) === 'absent') continue;
      if (removeUnlessKept(ctx, path, kept)) removed.push(path);
    } catch (err) {
      problems.push(toProblem(err, path, 'delete'));
    }
  }
  return removed;
}

function withAncestors(paths: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    for (let at = p; at !== '' && !out.has(at); at = parentOf(at)) out.add(at);
  }
  return out;
}

/** Removes `path` (recursively), sparing whatever `kept` names. True when anything went. */
function removeUnlessKept(ctx: ApplyContext, path: string, kept: ReadonlySet<string>): boolean {
  const abs = join(ctx.root, path);
  const st = ctx.fs.lstatSync(abs, { throwIfNoEntry: false });
  if (st === undefined) return false;
  if (!kept.has(path)) {
    // rmSync unlinks symlinks inside the tree; it never follows them.
    ctx.fs.rmSync(abs, { recursive: true, force: true });
    ctx.manifest.deleteTree(path);
    if (st.isDirectory()) ctx.guard.forget(path);
    return true;
  }
  if (!st.isDirectory()) return false;
  let any = false;
  for (const name of ctx.fs.readdirSync(abs)) {
    if (isTempName(name)) continue;
    if (removeUnlessKept(ctx, `${path}/${name}`, kept)) any = true;
  }
  return any;
}
