/** What one path of a synced tree is, as both sides describe it. */
export const EntryType = {
  FILE: 'file',
  DIR: 'dir',
  SYMLINK: 'symlink',
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  /** Wire path (see paths.ts). */
  path: string;
  type: EntryType;
  /** Bytes of content for a file; 0 for a directory; target length for a symlink. */
  size: number;
  /** Modification time in milliseconds since the epoch. */
  mtime: number;
  /** Permission bits (mode & 0o777): the digest and the agent keep these. */
  mode: number;
  /** xxhash64 of the content as 16 hex digits, for files; '' otherwise. */
  hash: string;
  /** Link target, for symlinks only. */
  target?: string;
}

/**
 * The canonical line of an entry for the manifest digest. mtime is left out:
 * the digest says whether two trees hold the same content, types, modes and
 * links, which is what a sync must make equal.
 */
export function entryLine(e: Entry): string {
  switch (e.type) {
    case EntryType.FILE:
      return `f\0${e.path}\0${e.size}\0${(e.mode & 0o777).toString(8)}\0${e.hash}`;
    case EntryType.DIR:
      return `d\0${e.path}\0${(e.mode & 0o777).toString(8)}`;
    case EntryType.SYMLINK:
      return `l\0${e.path}\0${e.target ?? ''}`;
  }
}

/**
 * XOR of two 64-bit digests as 16 hex digits. The manifest digest is the XOR of
 * the hash of every entry line: order-free and updatable one entry at a time,
 * so either side keeps it current in O(1) per change.
 */
export function xorDigest(a: string, b: string): string {
  const hi = (parseInt(a.slice(0, 8), 16) ^ parseInt(b.slice(0, 8), 16)) >>> 0;
  const lo = (parseInt(a.slice(8, 16), 16) ^ parseInt(b.slice(8, 16), 16)) >>> 0;
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

export const EMPTY_DIGEST = '0000000000000000';

/** The digest of a whole manifest, given a 64-bit string hash as 16 hex digits. */
export function manifestDigest(entries: Iterable<Entry>, hash64: (s: string) => string): string {
  let digest = EMPTY_DIGEST;
  for (const e of entries) digest = xorDigest(digest, hash64(entryLine(e)));
  return digest;
}
