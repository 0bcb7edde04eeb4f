import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/*
 * A directory listed with the lstat of every entry in one call into the
 * native addon (native/reaper.c, lstatDir): walking a tree of 54,000 entries
 * took 150-250 ms through readdirSync and lstatSync (a Stats object and four
 * Dates per entry, and the collections they cost) and takes about 80 ms this
 * way. Both the agent's start-up scan and the daemon's scan use it when the
 * addon is there, and fall back to Node's own calls when it is not.
 */

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** Doubles per entry, in the order reaper.c writes them. */
const FIELDS = 10;
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
    return (this.mode & S_IFMT) === S_IFREG;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
}

export interface ListedEntry {
  name: string;
  /**
   * Its lstat; null when the addon could not vouch for it: a name that is
   * not UTF-8 (its JS string names no file: the caller's own lstat finds
   * that out and says so) — an entry gone since the listing is left out.
   */
  stat: NativeStat | null;
}

/** Lists `absDir` with every entry's lstat; null when it is gone or is not a directory. Throws when it cannot be read. */
export type StatDir = (absDir: string) => ListedEntry[] | null;

interface LstatDirAddon {
  lstatDir(path: string): { names: string[]; stats: Float64Array } | null;
}

/** The addon's lstatDir from the first candidate that has it, or null (the caller uses Node's calls). */
export function loadStatDir(candidates: readonly string[]): StatDir | null {
  if (process.platform !== 'linux') return null;
  const require = createRequire(import.meta.url);
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    let addon: Partial<LstatDirAddon>;
    try {
      addon = require(path) as Partial<LstatDirAddon>;
    } catch {
      continue;
    }
    if (typeof addon.lstatDir !== 'function') continue;
    const lstatDir = addon.lstatDir.bind(addon);
    return (absDir) => decode(lstatDir(absDir));
  }
  return null;
}

function decode(raw: { names: string[]; stats: Float64Array } | null): ListedEntry[] | null {
  if (raw === null) return null;
  const { names, stats } = raw;
  const out: ListedEntry[] = [];
  for (let i = 0; i < names.length; i++) {
    const f = i * FIELDS;
    const flags = stats[f + 9];
    if (flags & VANISHED && !(flags & NOT_UTF8)) continue;
    if (flags & NOT_UTF8) {
      out.push({ name: names[i], stat: null });
      continue;
    }
    // As Node's Stats computes them from (sec, nsec), so a saved mtime compares equal.
    const mtimeMs = stats[f + 3] * 1e3 + stats[f + 4] / 1e6;
    const ctimeMs = stats[f + 5] * 1e3 + stats[f + 6] / 1e6;
    out.push({ name: names[i], stat: new NativeStat(stats[f], stats[f + 1], stats[f + 2], mtimeMs, ctimeMs, stats[f + 7]) });
  }
  return out;
}
