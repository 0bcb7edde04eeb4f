import type { Entry, Problem } from '@skiff/protocol';
import type { IgnoreMatcher } from '../ignore/index.ts';

/**
 * An entry as the local index keeps it: the wire entry plus the inode, which
 * with size and mtime tells whether a file may keep its hash without being
 * read again.
 */
export interface IndexEntry extends Entry {
  ino: number;
  /**
   * Names of a file with more than one (hard links), as lstat saw it; absent
   * for the usual one. A write through one name changes every other, which
   * no watcher event reports: see index/refresh.ts. Not saved in the index.
   */
  nlink?: number;
}

/**
 * The hash of a file scanned with deferHash and not read yet. Never saved:
 * the index holds only real hashes (see hashDeferred).
 */
export const UNHASHED = '';

/** An inode number no file has: an entry carrying it is always re-hashed. */
export const UNKNOWN_INO = 0;

export interface ScanResult {
  /** Every entry of the tree that is not ignored, by wire path; the root itself is not one. */
  entries: Map<string, IndexEntry>;
  /** Paths left out for a reason the user should see (escaping symlink, FIFO, bad name, unreadable). */
  problems: Problem[];
  /** Files whose content was read and hashed. */
  hashed: number;
  /** Files that kept the hash of the previous index (same size, mtime and inode). */
  reused: number;
  /** Entries that are the very objects of the previous index (nothing about them changed). */
  kept: number;
  /** Files left unread with hash UNHASHED (deferHash): what hashDeferred has to read. */
  deferred: number;
  bytesHashed: number;
  /** Whether the addon walked what the previous index described (ScanOptions.nativeWalk), the rest walked here. */
  walkedNatively: boolean;
  /** The rules the scan applied, brought up to date with the ignore files it read. */
  matcher: IgnoreMatcher;
}
