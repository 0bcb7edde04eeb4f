import { join } from 'node:path';
import { ErrorCode, SkiffError, parentOf, type FileHeader, type StreamHash } from '@skiff/protocol';
import { PERMISSION_BITS, fileEntry } from '../manifest/entries.ts';
import { toSeconds, type ApplyContext } from './context.ts';
import { addonCandidates } from '../init/addon.ts';
import { loadFileIo, type NativeFileIo } from '../native-fs/file-io.ts';
import { createdWithMode, errnoOf, realFs, STAGED_OPEN_FLAGS, TEMP_FILE_MODE, TEMP_OPEN_FLAGS } from './fs-ops.ts';
import { placeIntoRoot, removeTemp } from './place.ts';
import { writeSparse } from './sparse-write.ts';
import { tempName } from './temp-name.ts';

/**
 * One file on its way in: a temporary file in the target's directory, held
 * open while chunks arrive, renamed into place when its last byte is written.
 * Until then the real name keeps its previous content; on any failure the
 * temporary file is removed, so a full disk leaves the old version intact.
 *
 * In a staged batch (stage.ts) a new file is created at its real name in the
 * stage instead (`direct`): the stage as a whole is what is not in place yet;
 * a whole one goes in one call into the addon when it is there.
 * Something already at that name in the stage (the batch wrote it, or a
 * directory or link stands there) sends the file the usual way.
 *
 * A file that arrives in pieces (FILE chunks and SPAN runs, span.ts) is
 * written at explicit offsets, its all-zero pages skipped (sparse-write.ts),
 * and hashed as it goes, so that one built partly from its base can be
 * checked before it replaces that base.
 */
export interface IncomingFile {
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  readonly mtime: number;
  /** The content's hash: a file in pieces takes the one of its last piece (protocol SpanHeader). */
  hash: string;
  /** Where the bytes go: a temporary name, or the real name inside a stage. */
  readonly tmpAbs: string;
  /** Created at its real name (staged): nothing to rename at the end. */
  readonly direct: boolean;
  /** Created with its final mode already (no fchmod needed). */
  readonly modeSet: boolean;
  fd: number | null;
  written: number;
  /** Hash of everything written so far, for a file that arrives in pieces. */
  running: StreamHash | null;
  /** Some of its bytes were left unwritten (zeros): the size is set at the end. */
  holes: boolean;
  /** The base a SPAN copies from (span.ts), opened at its first use. */
  baseFd: number | null;
  /** Bytes were copied from the base: the result must have the announced hash. */
  usedBase: boolean;
}

export function openIncoming(ctx: ApplyContext, h: FileHeader | { path: string; size: number; mode: number; mtime: number; hash: string }): IncomingFile {
  const dir = parentOf(h.path);
  ctx.guard.ensureDir(dir, h.path);
  if (ctx.staged) {
    // Wire paths are normalised and checked: a plain concatenation is the joined path.
    const abs = `${ctx.root}/${h.path}`;
    const mode = h.mode & PERMISSION_BITS;
    try {
      const fd = ctx.fs.openSync(abs, STAGED_OPEN_FLAGS, mode);
      return incoming(h, abs, true, createdWithMode(mode), fd);
    } catch (err) {
      // Taken already (EEXIST, ELOOP for a link): the usual way replaces it.
      if (errnoOf(err) !== 'EEXIST' && errnoOf(err) !== 'ELOOP') throw err;
    }
  }
  const tmpAbs = join(ctx.root, dir, tempName());
  const fd = ctx.fs.openSync(tmpAbs, TEMP_OPEN_FLAGS, TEMP_FILE_MODE);
  return incoming(h, tmpAbs, false, false, fd);
}

function incoming(h: { path: string; size: number; mode: number; mtime: number; hash: string }, tmpAbs: string, direct: boolean, modeSet: boolean, fd: number): IncomingFile {
  return { path: h.path, size: h.size, mode: h.mode, mtime: h.mtime, hash: h.hash, tmpAbs, direct, modeSet, fd, written: 0, running: null, holes: false, baseFd: null, usedBase: false };
}

let nativeIo: NativeFileIo | null | undefined;

/**
 * A whole new file of a staged batch in one call into the addon
 * (native-fs/file-io.ts): created at its real name in the stage, written,
 * its mode and mtime set, closed. False when the addon is not there or the
 * name is taken already (the usual way then replaces what is there).
 */
function writeStagedNative(ctx: ApplyContext, h: FileHeader, data: Uint8Array): boolean {
  // Loaded once: null (no addon) is an answer too, not a reason to look again.
  if (nativeIo === undefined) nativeIo = loadFileIo(addonCandidates());
  if (nativeIo === null) return false;
  ctx.guard.ensureDir(parentOf(h.path), h.path);
  const abs = `${ctx.root}/${h.path}`;
  const mode = h.mode & PERMISSION_BITS;
  try {
    nativeIo.writeNewFile(abs, data, mode, !createdWithMode(mode), toSeconds(h.mtime));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).syscall === 'open' && (errnoOf(err) === 'EEXIST' || errnoOf(err) === 'ELOOP')) return false;
    throw err;
  }
  ctx.manifest.set(fileEntry(h.path, h.size, h.mtime, h.mode, h.hash));
  return true;
}

/** Appends a chunk of a file that arrives in pieces; returns true when the file is complete. */
export function appendChunk(ctx: ApplyContext, f: IncomingFile, data: Uint8Array): boolean {
  if (writeSparse(ctx.fs, f.fd!, data, f.written) < data.length) f.holes = true;
  f.running?.update(data);
  f.written += data.length;
  return f.written === f.size;
}

/** Writes all of `data` at the current position: a whole small file. */
function writeAll(ctx: ApplyContext, f: IncomingFile, data: Uint8Array): void {
  let at = 0;
  while (at < data.length) at += ctx.fs.writeSync(f.fd!, data, at, data.length - at);
  f.written += data.length;
}

/** Sets size, mode and mtime, checks a delta's result, closes, renames into place and records the entry. */
export function finishIncoming(ctx: ApplyContext, f: IncomingFile): void {
  const fd = f.fd!;
  // Pages left unwritten at the end leave the file short of its size: the size makes them a hole.
  if (f.holes) ctx.fs.ftruncateSync(fd, f.size);
  if (f.usedBase && f.running?.digest() !== f.hash) {
    throw new SkiffError(
      ErrorCode.DELTA_BASE,
      `${f.path}: the file built from its previous version does not have the content announced (the previous version on the agent is not the one the daemon knew); it will be sent whole`,
      { path: f.path },
    );
  }
  if (!f.modeSet) ctx.fs.fchmodSync(fd, f.mode & PERMISSION_BITS);
  const t = toSeconds(f.mtime);
  ctx.fs.futimesSync(fd, t, t);
  f.fd = null;
  ctx.fs.closeSync(fd);
  closeBase(ctx, f);
  if (!f.direct) placeIntoRoot(ctx, f.tmpAbs, f.path);
  ctx.manifest.set(fileEntry(f.path, f.size, f.mtime, f.mode, f.hash));
}

/** Closes and removes the temporary file (the partial file, in a stage); never throws. */
export function discardIncoming(ctx: ApplyContext, f: IncomingFile): void {
  if (f.fd !== null) {
    try {
      ctx.fs.closeSync(f.fd);
    } catch {
      // The descriptor is gone either way; the unlink below is what matters.
    }
    f.fd = null;
  }
  closeBase(ctx, f);
  removeTemp(ctx, f.tmpAbs);
}

function closeBase(ctx: ApplyContext, f: IncomingFile): void {
  if (f.baseFd === null) return;
  try {
    ctx.fs.closeSync(f.baseFd);
  } catch {
    // Read-only descriptor: nothing to lose.
  }
  f.baseFd = null;
}

/**
 * A whole file in one frame, the common case for small files: open, write,
 * finish without keeping any state between calls.
 */
export function writeWholeFile(ctx: ApplyContext, h: FileHeader, data: Uint8Array): void {
  if (ctx.staged && ctx.fs === realFs && writeStagedNative(ctx, h, data)) return;
  const f = openIncoming(ctx, h);
  try {
    writeAll(ctx, f, data);
    finishIncoming(ctx, f);
  } catch (err) {
    discardIncoming(ctx, f);
    throw err;
  }
}
