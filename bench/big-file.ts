import { createCipheriv } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * Large files for the delta and sparse scenarios: content from AES-128-CTR
 * keyed by the seed, so it is deterministic, incompressible and written at
 * GB/s, and in-place edits that change a few bytes at a known offset.
 */

const MIB = 2 ** 20;
const WRITE_PIECE_BYTES = 8 * MIB;

function keystream(seed: number, stream: number): (n: number) => Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32BE(seed >>> 0, 0);
  key.writeUInt32BE(stream >>> 0, 4);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return (n) => cipher.update(Buffer.alloc(n));
}

/** Writes `bytes` of pseudo-random content to `path`. */
export function writeRandomFile(path: string, bytes: number, seed: number): void {
  const next = keystream(seed, 1);
  const fd = openSync(path, 'w');
  try {
    for (let at = 0; at < bytes; at += WRITE_PIECE_BYTES) writeSync(fd, next(Math.min(WRITE_PIECE_BYTES, bytes - at)));
  } finally {
    closeSync(fd);
  }
}

/** A sparse file of `bytes` apparent size holding `extents` runs of `extentBytes` of data at spread offsets; the rest are holes. */
export function writeSparseFile(path: string, bytes: number, extents: number, extentBytes: number, seed: number): void {
  const next = keystream(seed, 2);
  const fd = openSync(path, 'w');
  try {
    const stride = Math.floor(bytes / extents);
    for (let i = 0; i < extents; i++) {
      // Page-aligned, so the holes between are whole pages the file system can leave unallocated.
      const offset = Math.floor((i * stride + stride / 3) / 4096) * 4096;
      writeSync(fd, next(extentBytes), 0, extentBytes, offset);
    }
    // The last extent ends before `bytes`: the tail is a hole too.
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/** Overwrites `bytes.length` bytes at `offset` in place (an editor or a database changing a record). */
export function editInPlace(path: string, offset: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Whether two files hold the same bytes, read in pieces. */
export function sameContent(a: string, b: string): boolean {
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  const ba = Buffer.allocUnsafe(WRITE_PIECE_BYTES);
  const bb = Buffer.allocUnsafe(WRITE_PIECE_BYTES);
  try {
    for (;;) {
      const na = readSync(fa, ba, 0, ba.length, null);
      const nb = readSync(fb, bb, 0, bb.length, null);
      if (na !== nb || ba.subarray(0, na).compare(bb.subarray(0, nb)) !== 0) return false;
      if (na === 0) return true;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}
