import { EntryType, type Entry } from '@skiff/protocol';

/*
 * Entry constructors for what the agent writes. Modes keep only the permission
 * bits (mode & 0o777), as the digest does; a symlink's size is the byte length
 * of its target and its mode is what Linux reports for every symlink.
 */

/** The mode bits an entry keeps, as the digest does. */
export const PERMISSION_BITS = 0o777;
/** What Linux reports as every symlink's mode. */
export const SYMLINK_MODE = 0o777;

export function fileEntry(path: string, size: number, mtime: number, mode: number, hash: string): Entry {
  return { path, type: EntryType.FILE, size, mtime, mode: mode & PERMISSION_BITS, hash };
}

export function dirEntry(path: string, mode: number, mtime: number): Entry {
  return { path, type: EntryType.DIR, size: 0, mtime, mode: mode & PERMISSION_BITS, hash: '' };
}

export function linkEntry(path: string, target: string, mtime: number): Entry {
  return { path, type: EntryType.SYMLINK, size: Buffer.byteLength(target), mtime, mode: SYMLINK_MODE, hash: '', target };
}
