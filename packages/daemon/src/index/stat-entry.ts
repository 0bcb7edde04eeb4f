import { readdirSync, readlinkSync } from 'node:fs';
import { isDirMode, isFileMode, type StatLike } from '@skiff/agent/stat-dir';
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

/** Whether a file's content is as `previous` recorded it (its hash may be kept unread): same size, mtime and inode. */
function contentKept(previous: IndexEntry | undefined, size: number, mtimeMs: number, ino: number): previous is IndexEntry {
  return previous !== undefined && previous.type === EntryType.FILE && previous.hash !== UNHASHED && previous.size === size && previous.mtime === mtimeMs && previous.ino === ino;
}

/**
 * Whether lstat's fields (mode with its type bits) say `previous` is still
 * the entry, unchanged in every field: then it is kept as the very same
 * object, so its line hash (tree-state.ts) is not computed again either.
 * The scan asks this of the native listing's numbers before it makes any
 * object for an entry (most entries, on a restart).
 */
export function unchangedEntry(previous: IndexEntry | undefined, mode: number, size: number, mtimeMs: number, ino: number, nlink: number): boolean {
  if (previous === undefined) return false;
  if (isFileMode(mode)) return contentKept(previous, size, mtimeMs, ino) && previous.mode === (mode & 0o777) && (previous.nlink ?? 1) === Math.max(nlink, 1);
  return isDirMode(mode) && previous.type === EntryType.DIR && previous.mode === (mode & 0o777) && previous.mtime === mtimeMs && previous.ino === ino;
}

export function entryFromStat(absPath: string, rel: string, st: StatLike, previous: IndexEntry | undefined): StatVerdict {
  if (unchangedEntry(previous, st.mode, st.size, st.mtimeMs, st.ino, st.nlink)) return { kind: 'entry', entry: previous!, needsHash: false };
  const mode = st.mode & 0o777;
  if (st.isFile()) {
    const reuse = contentKept(previous, st.size, st.mtimeMs, st.ino);
    const entry: IndexEntry = { path: rel, type: EntryType.FILE, size: st.size, mtime: st.mtimeMs, mode, hash: reuse ? previous.hash : UNHASHED, ino: st.ino };
    if (st.nlink > 1) entry.nlink = st.nlink;
    return { kind: 'entry', entry, needsHash: !reuse };
  }
  if (st.isDirectory()) {
    return { kind: 'entry', entry: { path: rel, type: EntryType.DIR, size: 0, mtime: st.mtimeMs, mode, hash: '', ino: st.ino }, needsHash: false };
  }
  if (st.isSymbolicLink()) {
    let target: string;
    try {
      target = readlinkSync(absPath);
    } catch (err) {
      return isVanished(err) ? { kind: 'vanished' } : { kind: 'problem', problem: ioProblem(rel, 'read the link', err) };
    }
    const escape = checkLinkTarget(rel, target);
    if (escape) return { kind: 'problem', problem: { path: rel, code: escape.code, message: `${escape.message}; it is not synced` } };
    return { kind: 'entry', entry: { path: rel, type: EntryType.SYMLINK, size: Buffer.byteLength(target), mtime: st.mtimeMs, mode, hash: '', target, ino: st.ino }, needsHash: false };
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
