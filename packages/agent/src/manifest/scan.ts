import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, rmSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { checkChildPath, checkRelPath, type Hasher } from '@skiff/protocol';
import { isTempName } from '../apply/temp-name.ts';
import { addonCandidates } from '../init/addon.ts';
import { loadRawStatDir, rawStat, rawUsable, rawVanished, type RawListing, type RawStatDir, type StatLike } from '../native-fs/stat-dir.ts';
import { loadVerifySaved, type VerifySaved } from '../native-fs/verify-saved.ts';
import { dirEntry, fileEntry, linkEntry } from './entries.ts';
import { Manifest } from './manifest.ts';
import { SavedManifest, settled, type StatKey } from './stat-cache.ts';

/** Read size for hashing: one huge buffer is several times slower than 1 MiB chunks. */
export const HASH_CHUNK_BYTES = 1024 * 1024;

export interface ScanResult {
  manifest: Manifest;
  /** Leftover temporary files removed. */
  swept: number;
  /** Paths left out of the manifest (unsupported type or not a valid wire path). */
  skipped: string[];
  /**
   * Files and symlinks read again whose lstat vouches for their entry (see
   * stat-cache.ts), for the next save. Those the saved manifest vouched for
   * are the manifest's held rows (Manifest.rowOf) instead.
   */
  known: Map<string, StatKey>;
  /** Files read and hashed (the others kept the hash a saved manifest recorded). */
  hashed: number;
  /** Entries the saved manifest vouched for (files and symlinks unread, directories as recorded). */
  matched: number;
}

/**
 * Builds the manifest of a root at startup, before anyone can connect, so it
 * runs synchronously. A file or symlink whose lstat is what `cached` (the
 * manifest saved by the last run, stat-cache.ts) recorded keeps its hash or
 * target unread; any other file is hashed in 1 MiB chunks (one huge buffer
 * is several times slower), a file that fits one read in one call.
 * Leftover temporary files of an earlier agent (killed mid-batch) are removed
 * on the way, never recorded. Sockets, FIFOs, devices and names that are not
 * valid wire paths are skipped: they can never be synced.
 */
export function scanRoot(root: string, hasher: Hasher, saved: SavedManifest = SavedManifest.EMPTY, statDir: RawStatDir | null = nativeStatDir(), verify: VerifySaved | null = nativeVerify()): ScanResult {
  const manifest = new Manifest(hasher.h64);
  const buf = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  const result: ScanResult = { manifest, swept: 0, skipped: [], known: new Map(), hashed: 0, matched: 0 };
  /** Rows of the saved manifest found unchanged: the manifest holds them without entries (adoptSaved). */
  const held = new Uint8Array(saved.rows);
  /** Directories still to list, relative to the root. */
  const dirs: string[] = [];

  /**
   * Takes entry `i` of a listing: a path `rel` in `dir`, named `name`.
   * `trySaved`: whether its lstat may still be matched against the saved
   * manifest (not when the native walk tried already). `statAt`: a time
   * taken before the entry's lstat.
   */
  const take = (dir: string, name: string, rel: string, listing: RawListing | { names: string[]; stats: null }, i: number, statAt: number, trySaved: boolean): void => {
    if (isTempName(name)) {
      rmSync(`${root}/${rel}`, { recursive: true, force: true });
      result.swept += 1;
      return;
    }
    if ((dir === '' ? checkRelPath(rel) : checkChildPath(rel, name)) !== null) {
      result.skipped.push(rel);
      return;
    }
    if (listing.stats !== null && rawVanished(listing, i)) return;
    const raw = listing.stats !== null && rawUsable(listing, i);
    if (raw && trySaved) {
      // The common case of a restart: the saved entry matches, and no object is made to find out.
      const row = saved.matchRaw(rel, listing as RawListing, i);
      if (row >= 0) {
        held[row] = 1;
        result.matched++;
        if (saved.isDirRow(row)) dirs.push(rel);
        return;
      }
    }
    // Built only off the common path above: most entries of a restart never need it.
    const abs = `${root}/${rel}`;
    const st: StatLike | undefined = raw ? rawStat(listing as RawListing, i) : lstatSync(abs, { throwIfNoEntry: false });
    if (st === undefined) return; // vanished while scanning
    const mtime = Math.floor(st.mtimeMs);
    if (st.isDirectory()) {
      manifest.set(dirEntry(rel, st.mode, mtime));
      dirs.push(rel);
      return;
    }
    if (!st.isFile() && !st.isSymbolicLink()) {
      result.skipped.push(rel);
      return;
    }
    const row = raw ? -1 : saved.matchStat(rel, st); // a native lstat that did not match above will not now
    if (row >= 0) {
      held[row] = 1;
      result.matched++;
      return;
    }
    const stat: StatKey = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode };
    if (st.isFile()) {
      const { size, hash } = hashFile(abs, buf, hasher);
      result.hashed += 1;
      manifest.set(fileEntry(rel, size, mtime, st.mode, hash));
      // Read after this lstat: any later change moves the ctime, unless the last one is too recent to tell.
      if (size === st.size && settled(st.ctimeMs, statAt)) result.known.set(rel, stat);
    } else {
      manifest.set(linkEntry(rel, readlinkSync(abs), mtime));
      if (settled(st.ctimeMs, statAt)) result.known.set(rel, stat);
    }
  };

  // A restart: the addon walks what the saved manifest still vouches for; only what it did not is taken here.
  const statAt = Date.now();
  const walked = verify !== null && saved.rows > 0 && statDir !== null ? verify(root, saved.pathBlock, saved.numbers, held) : null;
  if (walked === null) {
    dirs.push('');
  } else {
    result.matched = walked.matched;
    const { unmatched } = walked;
    for (let i = 0; i < unmatched.names.length; i++) {
      const rel = unmatched.names[i];
      const slash = rel.lastIndexOf('/');
      take(slash < 0 ? '' : rel.slice(0, slash), rel.slice(slash + 1), rel, unmatched, i, statAt, false);
    }
    for (const dir of walked.failed) dirs.push(dir);
  }
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    // Taken before any lstat of the directory: an earlier time only makes "settled" stricter.
    const listedAt = Date.now();
    const listing = list(root, dir, statDir);
    if (listing === null) continue; // gone while scanning
    for (let i = 0; i < listing.names.length; i++) {
      const name = listing.names[i];
      take(dir, name, dir === '' ? name : `${dir}/${name}`, listing, i, listedAt, true);
    }
  }
  manifest.adoptSaved(saved, held);
  return result;
}

let native: RawStatDir | null | undefined;
let nativeWalk: VerifySaved | null | undefined;

/** The addon's walk against a saved manifest, loaded once; null without the addon. */
function nativeVerify(): VerifySaved | null {
  if (nativeWalk === undefined) nativeWalk = loadVerifySaved(addonCandidates());
  return nativeWalk;
}

/** The addon's directory lister, loaded once; null without the addon (Node's calls are used). */
function nativeStatDir(): RawStatDir | null {
  // Loaded once: null (no addon) is an answer too, not a reason to look again.
  if (native === undefined) native = loadRawStatDir(addonCandidates());
  return native;
}

/** The names of `dir` with their lstat when the addon gives it (stats null: none), or null when `dir` is gone. */
function list(root: string, dir: string, statDir: RawStatDir | null): RawListing | { names: string[]; stats: null } | null {
  const abs = dir === '' ? root : join(root, dir);
  if (statDir !== null) {
    try {
      return statDir(abs);
    } catch {
      // Unreadable as a whole: Node's own call below says why.
    }
  }
  return { names: readdirSync(abs), stats: null };
}

/** xxhash64 of a file's content, read in chunks through `buf`. */
export function hashFile(abs: string, buf: Buffer, hasher: Hasher): { size: number; hash: string } {
  const fd = openSync(abs, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    let n = readSync(fd, buf, 0, buf.length, null);
    // Regular files read short only at their end: one read means one hash call.
    if (n < buf.length) return { size: n, hash: hasher.h64Bytes(buf.subarray(0, n)) };
    const stream = hasher.stream();
    let size = 0;
    while (n > 0) {
      stream.update(buf.subarray(0, n));
      size += n;
      n = readSync(fd, buf, 0, buf.length, null);
    }
    return { size, hash: stream.digest() };
  } finally {
    closeSync(fd);
  }
}
