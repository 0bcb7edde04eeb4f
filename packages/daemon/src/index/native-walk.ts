import { isFileMode, RAW_STAT_FIELDS, rawUsable, type RawListing } from '@skiff/agent/stat-dir';
import { EntryType } from '@skiff/protocol';
import { GITIGNORE_FILE } from '../ignore/index.ts';
import { UNHASHED, type IndexEntry } from './entry.ts';

/*
 * What the scan hands the addon's walk against the index (scan.ts,
 * runNative; native/verify-saved.c, its INDEX rule) and reads back from it.
 * Pure: rows in, arrays out.
 */

/** Doubles per row, as verify-saved.c reads them (STAT_ROW_FIELDS). */
const ROW_FIELDS = 10;
const ROW_FILE = 0;
const ROW_DIR = 2;
/** A row that never matches: a symlink (read again at every scan, as unchangedEntry says) or a file whose hash is unknown. */
const ROW_NEVER = 9;

/**
 * The index's rows for the walk: their paths joined by NUL (no path holds
 * one), and per row its type, size, -, permission bits, inode, mtime and
 * link count (at least 1), the fields unchangedEntry compares.
 */
export function indexRows(rows: readonly IndexEntry[]): { paths: Uint8Array; numbers: Float64Array } {
  const numbers = new Float64Array(rows.length * ROW_FIELDS);
  const paths: string[] = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const e = rows[i];
    const f = i * ROW_FIELDS;
    paths[i] = e.path;
    numbers[f] = e.type === EntryType.DIR ? ROW_DIR : e.type === EntryType.FILE && e.hash !== UNHASHED ? ROW_FILE : ROW_NEVER;
    numbers[f + 1] = e.size;
    numbers[f + 3] = e.mode;
    numbers[f + 4] = e.ino;
    numbers[f + 5] = e.mtime;
    numbers[f + 6] = e.nlink ?? 1;
  }
  return { paths: Buffer.from(paths.join('\0')), numbers };
}

/**
 * The directories the walk found a regular .gitignore in: a file row it
 * matched (a regular file, as recorded), or an unmatched entry whose lstat
 * says it is one. `order` and `unmatched` as the walk returned them.
 */
export function gitignoreDirs(rows: readonly IndexEntry[], order: Int32Array, unmatched: RawListing): Set<string> {
  const dirs = new Set<string>();
  const add = (path: string) => {
    const slash = path.lastIndexOf('/');
    if (path.slice(slash + 1) === GITIGNORE_FILE) dirs.add(slash < 0 ? '' : path.slice(0, slash));
  };
  for (let j = 0; j < order.length; j++) {
    const at = order[j];
    if (at >= 0) {
      if (rows[at].type === EntryType.FILE && rows[at].path.endsWith(GITIGNORE_FILE)) add(rows[at].path);
    } else {
      const k = -at - 1;
      const path = unmatched.names[k];
      if (path.endsWith(GITIGNORE_FILE) && rawUsable(unmatched, k) && isFileMode(unmatched.stats[k * RAW_STAT_FIELDS])) add(path);
    }
  }
  return dirs;
}
