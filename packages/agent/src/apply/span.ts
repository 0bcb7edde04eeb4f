import { EntryType, ErrorCode, SkiffError, type SpanHeader } from '@skiff/protocol';
import type { ApplyContext } from './context.ts';
import { writeSparse } from './sparse-write.ts';
import type { IncomingFile } from './temp-file.ts';

/** Bytes copied from a base at a time. */
export const SPAN_COPY_CHUNK_BYTES = 1024 * 1024;
const ZEROS = new Uint8Array(SPAN_COPY_CHUNK_BYTES);

/**
 * One SPAN of a file being written (see protocol SpanHeader): a run copied
 * from the file's current version on the agent (the base), or a hole.
 *
 * The base is what the manifest records at the same path: a regular file
 * (lstat'ed parents, opened with O_NOFOLLOW) with the announced hash, whose
 * size on disk is the manifest's. Offsets and lengths are the daemon's word
 * and are checked against that size, never trusted: a run past the base's
 * end, or a base that is not the one announced, is SKIFF_E_DELTA_BASE, and
 * the file is dropped (the daemon sends it whole). Bytes of the base that
 * differ from what the manifest says are caught at the end, by the hash of
 * the result (finishIncoming), before anything replaces the base.
 *
 * Copied pages that are all zeros are not written, as for any chunk: a
 * sparse base gives a sparse result. A hole writes nothing and is hashed as
 * the zeros it stands for.
 */
export function applySpan(ctx: ApplyContext, f: IncomingFile, h: SpanHeader): boolean {
  if (h.from === undefined) {
    f.holes = true;
    if (f.running !== null) for (let left = h.length; left > 0; left -= SPAN_COPY_CHUNK_BYTES) f.running.update(ZEROS.subarray(0, Math.min(left, SPAN_COPY_CHUNK_BYTES)));
  } else {
    const base = openBase(ctx, f, h);
    const buf = Buffer.allocUnsafe(Math.min(SPAN_COPY_CHUNK_BYTES, h.length));
    for (let done = 0; done < h.length; ) {
      const want = Math.min(buf.length, h.length - done);
      const n = ctx.fs.readSync(base.fd, buf, 0, want, h.from + done);
      if (n !== want) throw baseError(h, `it ended at ${h.from + done + n} bytes`);
      const chunk = buf.subarray(0, n);
      if (writeSparse(ctx.fs, f.fd!, chunk, f.written + done) < n) f.holes = true;
      f.running?.update(chunk);
      done += n;
    }
    f.usedBase = true;
  }
  f.written += h.length;
  return f.written === f.size;
}

/** The base of `f`, opened and checked at its first use. */
function openBase(ctx: ApplyContext, f: IncomingFile, h: SpanHeader): { fd: number; size: number } {
  const known = ctx.manifest.get(h.path);
  if (known?.type !== EntryType.FILE || known.hash !== h.base) throw baseError(h, 'the agent does not hold that version');
  if (h.from! + h.length > known.size) throw baseError(h, `the run ${h.from}+${h.length} passes its end at ${known.size}`);
  if (f.baseFd === null) {
    if (ctx.guard.parents(h.path) !== 'present') throw baseError(h, 'it is gone');
    const fd = ctx.fs.openSync(`${ctx.root}/${h.path}`, ctx.fs.constants.O_RDONLY | ctx.fs.constants.O_NOFOLLOW);
    const st = ctx.fs.fstatSync(fd);
    if (!st.isFile() || st.size !== known.size) {
      ctx.fs.closeSync(fd);
      throw baseError(h, 'it is no longer that file');
    }
    f.baseFd = fd;
  }
  return { fd: f.baseFd, size: known.size };
}

function baseError(h: SpanHeader, why: string): SkiffError {
  return new SkiffError(ErrorCode.DELTA_BASE, `${h.path}: cannot build it from its previous version: ${why}; it will be sent whole`, { path: h.path });
}
