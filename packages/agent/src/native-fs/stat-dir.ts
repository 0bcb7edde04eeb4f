import { loadAddon } from './load-addon.ts';

/*
 * A directory listed with the lstat of every entry in one call into the
 * native addon (native/list-dir.c, lstatDir): walking a tree of 54,000 entries
 * took 150-250 ms through readdirSync and lstatSync (a Stats object and four
 * Dates per entry, and the collections they cost) and takes about 80 ms this
 * way. Both the agent's start-up scan and the daemon's scan use it when the
 * addon is there, and fall back to Node's own calls when it is not.
 */

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** What an st_mode (type bits and permission bits) says the entry is. */
export const isFileMode = (mode: number): boolean => (mode & S_IFMT) === S_IFREG;
export const isDirMode = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;
export const isLinkMode = (mode: number): boolean => (mode & S_IFMT) === S_IFLNK;
/** Doubles per entry, in the order list-dir.c writes them: st_mode, st_ino, st_size, mtime sec and nsec, ctime sec and nsec, st_nlink, st_dev, flags. */
export const RAW_STAT_FIELDS = 10;
const FIELDS = RAW_STAT_FIELDS;
const NOT_UTF8 = 1;
const VANISHED = 2;

/** The part of a Stats the scans read. */
export interface StatLike {
  mode: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  nlink: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** What lstat said of one entry, as the addon reported it. mtimeMs and ctimeMs are computed as Node computes them. */
export class NativeStat implements StatLike {
  constructor(
    readonly mode: number,
    readonly ino: number,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
    readonly nlink: number,
  ) {}
  isFile(): boolean {
    return isFileMode(this.mode);
  }
  isDirectory(): boolean {
    return isDirMode(this.mode);
  }
  isSymbolicLink(): boolean {
    return isLinkMode(this.mode);
  }
}

/**
 * A directory as the addon lists it: `names` (each followed by a NUL) and,
 * per entry, FIELDS doubles; read it with the functions below. The scan of
 * a whole tree reads these without making an object per entry.
 */
export interface RawListing {
  names: string[];
  stats: Float64Array;
}

/** A listing as the addon makes it: the names in one string, each followed by a NUL. */
interface AddonListing {
  names: string;
  stats: Float64Array;
}

interface LstatDirAddon {
  lstatDir(path: string): AddonListing | null;
  lstatDirs?(paths: string[]): Promise<Array<AddonListing | null | Error>>;
}

/** Lists `absDir` raw; null when it is gone or is not a directory. Throws when it cannot be read. */
export type RawStatDir = (absDir: string) => RawListing | null;

/**
 * Lists several directories on a thread of libuv's pool: per path its
 * listing, null when it is gone or is not a directory, or the Error that
 * lstatDir would have thrown.
 */
export type RawStatDirs = (absDirs: string[]) => Promise<Array<RawListing | null | Error>>;

/** Whether entry `i` has a usable lstat (its name is UTF-8, it was there). */
export function rawUsable(l: RawListing, i: number): boolean {
  return l.stats[i * FIELDS + 9] === 0;
}
/** Whether entry `i` is gone since the listing (and has a UTF-8 name). */
export function rawVanished(l: RawListing, i: number): boolean {
  return l.stats[i * FIELDS + 9] === VANISHED;
}
/*
 * Entry `i`'s fields, read without making an object: a scan that finds most
 * entries as it left them compares these numbers and makes none. The times
 * are computed as Node's Stats computes them from (sec, nsec), so a saved
 * mtime compares equal.
 */
export const rawMode = (l: RawListing, i: number): number => l.stats[i * FIELDS];
export const rawIno = (l: RawListing, i: number): number => l.stats[i * FIELDS + 1];
export const rawSize = (l: RawListing, i: number): number => l.stats[i * FIELDS + 2];
export const rawMtimeMs = (l: RawListing, i: number): number => l.stats[i * FIELDS + 3] * 1e3 + l.stats[i * FIELDS + 4] / 1e6;
export const rawCtimeMs = (l: RawListing, i: number): number => l.stats[i * FIELDS + 5] * 1e3 + l.stats[i * FIELDS + 6] / 1e6;
export const rawNlink = (l: RawListing, i: number): number => l.stats[i * FIELDS + 7];

/** Entry `i`'s lstat as an object (for code that takes a Stats). */
export function rawStat(l: RawListing, i: number): NativeStat {
  return new NativeStat(rawMode(l, i), rawIno(l, i), rawSize(l, i), rawMtimeMs(l, i), rawCtimeMs(l, i), rawNlink(l, i));
}

function split(raw: AddonListing): RawListing {
  return { names: splitNulTerminated(raw.names), stats: raw.stats };
}

/** The strings of a block where each is followed by a NUL (as the addon lists names; no name holds one). */
export function splitNulTerminated(block: string): string[] {
  const parts = block.split('\0');
  parts.pop();
  return parts;
}

/** The addon's lstatDir from the first candidate that has it, raw; null without one. */
export function loadRawStatDir(candidates: readonly string[]): RawStatDir | null {
  const addon = loadAddon<LstatDirAddon>(candidates, (a) => typeof a.lstatDir === 'function');
  if (addon === null) return null;
  const lstatDir = addon.lstatDir.bind(addon);
  return (absDir) => {
    const raw = lstatDir(absDir);
    return raw === null ? null : split(raw);
  };
}

/** The addon's lstatDirs from the first candidate that has lstatDir, raw; null when it has not that too (an older build). */
export function loadRawStatDirs(candidates: readonly string[]): RawStatDirs | null {
  const addon = loadAddon<LstatDirAddon>(candidates, (a) => typeof a.lstatDir === 'function');
  if (addon === null || typeof addon.lstatDirs !== 'function') return null;
  const lstatDirs = addon.lstatDirs.bind(addon);
  return async (absDirs) => (await lstatDirs(absDirs)).map((raw) => (raw === null || raw instanceof Error ? raw : split(raw)));
}
