import { join } from 'node:path';
import type { ApplyContext } from './context.ts';
import { errnoOf } from './fs-ops.ts';

/** What rename(2) says when a directory stands at the final name. */
const DIR_IN_THE_WAY: ReadonlySet<string> = new Set(['EISDIR', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR']);

/**
 * Moves a finished temporary file or link to its real name in one rename, so
 * the name shows either the old content or the new, never a part. rename(2)
 * replaces a file or a symlink at the final name without following it.
 *
 * A directory standing at the final name cannot be renamed over: the incoming
 * entry wins, so the directory (and its subtree) is removed first. rmSync
 * unlinks symlinks inside it rather than following them.
 */
export function placeIntoRoot(ctx: ApplyContext, tmpAbs: string, path: string): void {
  const abs = join(ctx.root, path);
  try {
    ctx.fs.renameSync(tmpAbs, abs);
    return;
  } catch (err) {
    if (!DIR_IN_THE_WAY.has(errnoOf(err) ?? '')) throw err;
    const st = ctx.fs.lstatSync(abs, { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory()) throw err;
  }
  ctx.fs.rmSync(abs, { recursive: true, force: true });
  ctx.manifest.deleteTree(path);
  ctx.guard.forget(path);
  ctx.fs.renameSync(tmpAbs, abs);
}

/** Removes a temporary name, ignoring one that is already gone: cleanup must not throw. */
export function removeTemp(ctx: ApplyContext, tmpAbs: string): void {
  try {
    ctx.fs.unlinkSync(tmpAbs);
  } catch {
    // Already gone, or the directory went with a delete: nothing left to clean.
  }
}
