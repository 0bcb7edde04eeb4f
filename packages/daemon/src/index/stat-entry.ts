import { readdirSync, readlinkSync, type Stats } from 'node:fs';
import { checkLinkTarget, EntryType, ErrorCode, parentOf, type Problem } from '@skiff/protocol';
import { UNHASHED, type IndexEntry } from './entry.ts';
import { isVanished } from './vanished.ts';

/**
 * What one lstat says a path is: the single place where the scan (a whole
 * tree) and the refresh (the paths a watcher reported) turn a Stats into an
 * index entry, so both agree on symlink checks, problem wording and when a
 * file may keep its hash.
 *
 * A file comes back with its previous hash when size, mtime, inode and mode
 * are unchanged (content unread), else as UNHASHED with `needsHash` set: the
 * caller reads it, synchronously or not, as suits it.
 */
export type StatVerdict =
  | { kind: 'entry'; entry: IndexEntry; needsHash: boolean }
  | { kind: 'problem'; problem: Problem }
  /** Gone (or changed type) between the listing and the call: left out quietly. */
  | { kind: 'vanished' };

export function entryFromStat(absPath: string, rel: string, st: Stats, previous: IndexEntry | undefined): StatVerdict {
  const base = { path: rel, mtime: st.mtimeMs, mode: st.mode & 0o777, ino: st.ino };
  if (st.isFile()) {
    const reuse =
      previous !== undefined &&
      previous.type === EntryType.FILE &&
      previous.hash !== UNHASHED &&
      previous.size === st.size &&
      previous.mtime === st.mtimeMs &&
      previous.ino === st.ino;
    const entry: IndexEntry = { ...base, type: EntryType.FILE, size: st.size, hash: reuse ? previous.hash : UNHASHED };
    if (st.nlink > 1) entry.nlink = st.nlink;
    return { kind: 'entry', entry, needsHash: !reuse };
  }
  if (st.isDirectory()) return { kind: 'entry', entry: { ...base, type: EntryType.DIR, size: 0, hash: '' }, needsHash: false };
  if (st.isSymbolicLink()) {
    let target: string;
    try {
      target = readlinkSync(absPath);
    } catch (err) {
      return isVanished(err) ? { kind: 'vanished' } : { kind: 'problem', problem: ioProblem(rel, 'read the link', err) };
    }
    const escape = checkLinkTarget(rel, target);
    if (escape) return { kind: 'problem', problem: { path: rel, code: escape.code, message: `${escape.message}; it is not synced` } };
    return { kind: 'entry', entry: { ...base, type: EntryType.SYMLINK, size: Buffer.byteLength(target), hash: '', target }, needsHash: false };
  }
  return { kind: 'problem', problem: { path: rel, code: ErrorCode.UNSUPPORTED_FILE, message: `${JSON.stringify(rel)} is a socket, FIFO or device, which cannot be synced` } };
}

export function ioProblem(rel: string, what: string, err: unknown): Problem {
  return { path: rel, code: ErrorCode.IO, message: `cannot ${what} ${JSON.stringify(rel)}: ${(err as Error).message}` };
}

/**
 * A name whose bytes are not UTF-8 reaches JavaScript with U+FFFD in place of
 * the bad bytes, and under that spelling names no file: a wire path cannot
 * carry it. Such a name is a problem with its own code, never a silent
 * omission. Listing the parent as bytes tells a bad name from a real U+FFFD.
 */
export function notUtf8Problem(absRoot: string, rel: string): Problem | null {
  if (!rel.includes('\uFFFD')) return null;
  const dir = parentOf(rel);
  const name = rel.slice(dir === '' ? 0 : dir.length + 1);
  let names: Buffer[];
  try {
    names = readdirSync(dir === '' ? absRoot : `${absRoot}/${dir}`, { encoding: 'buffer' });
  } catch {
    return null;
  }
  const bad = names.some((raw) => raw.toString('utf8') === name && !isUtf8(raw));
  if (!bad) return null;
  return {
    path: rel,
    code: ErrorCode.PATH_NOT_UTF8,
    message: `the name ${JSON.stringify(rel)} is not valid UTF-8 (shown with U+FFFD for the bad bytes); it cannot be synced: rename it`,
  };
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Buffer): boolean {
  try {
    strictDecoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
