import { readdirSync, type Dirent } from 'node:fs';
import { isDirMode, isFileMode, loadRawStatDir, loadRawStatDirs, rawMode, rawUsable, type RawListing, type RawStatDir, type RawStatDirs } from '@skiff/agent/stat-dir';
import { loadVerifySaved, type VerifySaved } from '@skiff/agent/verify-saved';
import { peerCredAddonCandidates } from '../control/peer-cred.ts';

/*
 * How the scan (scan.ts) lists a directory: the addon's calls when it is
 * built (a directory with every entry's lstat, several on the pool, or a
 * whole tree against its index), Node's readdir when it is not.
 */

/**
 * A directory's names, with every entry's lstat when the native lister
 * listed it (`raw`), or with Node's dirents when it did not.
 */
export type Listing = { names: string[]; raw: RawListing; dirents?: undefined } | { names: string[]; raw: null; dirents: Dirent[] };

let native: RawStatDir | null | undefined;
let nativeAhead: RawStatDirs | null | undefined;
let nativeWalker: VerifySaved | null | undefined;

/** The addon's walk against saved rows, loaded once; null without it. */
export function nativeVerify(): VerifySaved | null {
  if (nativeWalker === undefined) nativeWalker = loadVerifySaved(peerCredAddonCandidates());
  return nativeWalker;
}

/** The native lister of the agent's addon, loaded once; null without it. */
export function nativeStatDir(): RawStatDir | null {
  // Loaded once: null (no addon) is an answer too, not a reason to look again.
  if (native === undefined) native = loadRawStatDir(peerCredAddonCandidates());
  return native;
}

/** Its lister on the pool, loaded once; null without it. */
export function nativeStatDirs(): RawStatDirs | null {
  if (nativeAhead === undefined) nativeAhead = loadRawStatDirs(peerCredAddonCandidates());
  return nativeAhead;
}

/**
 * Lists a directory, with every entry's lstat from the native addon when it
 * is there (index/scan.ts walks 54,000 entries in about 80 ms of system
 * calls that way, 150 ms and a Stats object per entry through Node's calls).
 * Throws as readdirSync does; a directory gone meanwhile is an empty one
 * for the native lister, whose caller finds out from its parent's events.
 */
export function listDir(abs: string, statDir: RawStatDir | null): Listing {
  if (statDir !== null) {
    try {
      const raw = statDir(abs);
      if (raw !== null) return { names: raw.names, raw };
    } catch {
      // Unreadable: Node's call below says why, with the errno the caller reports.
    }
  }
  const dirents = readdirSync(abs, { withFileTypes: true });
  return { names: dirents.map((d) => d.name), raw: null, dirents };
}

/** Whether entry `i` has a usable native lstat (listed natively, a UTF-8 name, there). */
export function usableAt(l: Listing, i: number): boolean {
  return l.raw !== null && rawUsable(l.raw, i);
}

/** Whether entry `i` was listed as a directory (an entry the native lister could not vouch for: not known to be). */
export function isDirAt(l: Listing, i: number): boolean {
  return l.raw !== null ? usableAt(l, i) && isDirMode(rawMode(l.raw, i)) : l.dirents[i].isDirectory();
}

/** Whether entry `i` was listed as a regular file. */
export function isFileAt(l: Listing, i: number): boolean {
  return l.raw !== null ? usableAt(l, i) && isFileMode(rawMode(l.raw, i)) : l.dirents[i].isFile();
}
