import type { FsOps } from './fs-ops.ts';

/*
 * Writes that leave whole pages of zeros unwritten, so that a sparse file
 * (a disk image, a preallocated database) stays sparse on the agent and a
 * run of zeros costs no disk, as `rsync --sparse` does. Only pages wholly
 * inside the data and aligned in the file are skipped: what is skipped reads
 * back as zeros once the file is given its size (finishIncoming truncates to
 * it), and a partial page is always written.
 */

/** The unit the file systems allocate in (4 KiB on Linux for tmpfs, ext4, xfs, overlay). */
export const PAGE_BYTES = 4096;
const ZERO_PAGE = Buffer.alloc(PAGE_BYTES);

/** Writes `data` at `position`, skipping aligned all-zero pages; returns the bytes actually written. */
export function writeSparse(fs: FsOps, fd: number, data: Uint8Array, position: number): number {
  const view = Buffer.from(data.buffer, data.byteOffset, data.length);
  const firstPage = Math.min(data.length, (PAGE_BYTES - (position % PAGE_BYTES)) % PAGE_BYTES);
  let written = 0;
  let runStart = 0;
  let at = firstPage;
  while (at + PAGE_BYTES <= data.length) {
    if (ZERO_PAGE.compare(view, at, at + PAGE_BYTES) === 0) {
      written += writeRange(fs, fd, view, runStart, at, position);
      runStart = at + PAGE_BYTES;
    }
    at += PAGE_BYTES;
  }
  written += writeRange(fs, fd, view, runStart, data.length, position);
  return written;
}

function writeRange(fs: FsOps, fd: number, view: Buffer, from: number, to: number, position: number): number {
  let at = from;
  while (at < to) at += fs.writeSync(fd, view, at, to - at, position + at);
  return to - from;
}
