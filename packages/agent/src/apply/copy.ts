import { join } from 'node:path';
import { EntryType, ErrorCode, SkiffError, parentOf, type CopyHeader } from '@skiff/protocol';
import { PERMISSION_BITS, fileEntry } from '../manifest/entries.ts';
import type { ApplyContext } from './context.ts';
import { errnoOf, TEMP_FILE_MODE, TEMP_OPEN_FLAGS } from './fs-ops.ts';
import { placeIntoRoot, removeTemp } from './place.ts';
import { tempName } from './temp-name.ts';

/** Bytes read and written at a time when a copy cannot share the source's inode. */
export const COPY_CHUNK_BYTES = 1024 * 1024;

/**
 * A COPY frame: a file the root already holds at `from` is placed at `path`
 * (a move or rename in the project), so its bytes need not travel.
 *
 * The source must be what the manifest says: a regular file (lstat, never
 * followed) under real directories, whose recorded hash and size are the
 * ones announced; otherwise SKIFF_E_COPY_SOURCE and the daemon sends the
 * bytes. The new name is made under a temporary name and renamed into place,
 * like any incoming file, so a cut leaves the old or the new version.
 *
 * With the same mode, the temporary name is a hard link to the source: no
 * byte is copied. That is safe because the agent never changes a file in
 * place (every write replaces the inode by a rename), and the mtime is left
 * as the source's (the digest does not carry mtimes). Another mode needs its
 * own inode, so the bytes are copied, read through a descriptor opened with
 * O_NOFOLLOW.
 */
export function copyWithinRoot(ctx: ApplyContext, h: CopyHeader): void {
  const { fs, root, guard, manifest } = ctx;
  const known = manifest.get(h.from);
  if (known?.type !== EntryType.FILE || known.hash !== h.hash || known.size !== h.size) {
    throw sourceGone(h, 'the agent no longer holds that content there');
  }
  if (guard.parents(h.from) !== 'present') throw sourceGone(h, 'it is gone');
  const fromAbs = join(root, h.from);
  const st = fs.lstatSync(fromAbs, { throwIfNoEntry: false });
  if (st === undefined || !st.isFile() || st.size !== h.size) throw sourceGone(h, 'it is no longer that file');

  const dir = parentOf(h.path);
  guard.ensureDir(dir, h.path);
  const tmpAbs = join(root, dir, tempName());
  try {
    if ((st.mode & PERMISSION_BITS) !== (h.mode & PERMISSION_BITS) || !tryLink(ctx, fromAbs, tmpAbs)) copyBytes(ctx, fromAbs, tmpAbs, h);
    placeIntoRoot(ctx, tmpAbs, h.path);
  } catch (err) {
    removeTemp(ctx, tmpAbs);
    throw err;
  }
  manifest.set(fileEntry(h.path, h.size, st.mtimeMs, h.mode, h.hash));
}

/** False when the file system refuses hard links here (EPERM, EXDEV, EMLINK...): the bytes are copied instead. */
function tryLink(ctx: ApplyContext, fromAbs: string, tmpAbs: string): boolean {
  try {
    ctx.fs.linkSync(fromAbs, tmpAbs);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOSPC') throw err;
    return false;
  }
}

function copyBytes(ctx: ApplyContext, fromAbs: string, tmpAbs: string, h: CopyHeader): void {
  const { fs } = ctx;
  const src = fs.openSync(fromAbs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const dst = fs.openSync(tmpAbs, TEMP_OPEN_FLAGS, TEMP_FILE_MODE);
    try {
      const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK_BYTES, Math.max(1, h.size)));
      let copied = 0;
      for (;;) {
        const n = fs.readSync(src, buffer, 0, buffer.length, null);
        if (n === 0) break;
        let at = 0;
        while (at < n) at += fs.writeSync(dst, buffer, at, n - at);
        copied += n;
      }
      if (copied !== h.size) throw sourceGone(h, `it holds ${copied} bytes, not ${h.size}`);
      fs.fchmodSync(dst, h.mode & PERMISSION_BITS);
    } finally {
      fs.closeSync(dst);
    }
  } finally {
    fs.closeSync(src);
  }
}

function sourceGone(h: CopyHeader, why: string): SkiffError {
  return new SkiffError(ErrorCode.COPY_SOURCE, `${h.path}: cannot take its content from ${h.from}: ${why}; it will be sent`, { path: h.path });
}
