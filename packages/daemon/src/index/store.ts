import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EntryType, ErrorCode, SkiffError, validateEntry, type Entry } from '@skiff/protocol';
import { lineHashOf, rememberLineHash } from '../core/tree-state.ts';
import { UNKNOWN_INO, type IndexEntry } from './entry.ts';

/**
 * The index on disk: `.skiff/index.json`, one compact JSON document
 * `{"version":2,"check":H,"entries":[ROW,...]}`, a ROW being
 * `[path, type, size, mtime, mode, hash or link target, ino, lineHi, lineLo]`
 * where the last two are the halves of the entry line's hash (the part of
 * the tree's digest it carries, core/tree-state.ts) and H the xxhash64 of
 * the entries' JSON text. Rows instead of objects and the line hashes make a
 * restart with nothing changed cost a parse and a stat per entry, no hashing
 * (measured on 54,000 entries: 110 ms to load and 90 ms to rebuild the
 * digest became 60 ms and nothing). Version 1 (`{"version":1,"entries":[Entry
 * with ino, ...]}`) is still read.
 *
 * Trust: H must match, so a file cut short or edited by hand is discarded
 * whole (an empty index and a warning: every file is hashed again), and
 * every row is checked for shape and path rules as before.
 *
 * Invariant: the file is either the previous complete document or the new
 * complete one. It is written to a temporary file in the same directory,
 * flushed, then renamed over the old one (rename is atomic within a file
 * system), so a crash mid-write leaves at worst a stray temporary file.
 */
export const STATE_DIR = '.skiff';
export const INDEX_FILE = 'index.json';
export const INDEX_VERSION = 2;
/** The version before rows and line hashes, still read. */
const INDEX_VERSION_OBJECTS = 1;

export interface LoadedIndex {
  entries: Map<string, IndexEntry>;
  /** SKIFF_E_INDEX_CORRUPT when the file exists but could not be used; the index is then empty. */
  warning?: SkiffError;
}

export function indexPath(root: string): string {
  return join(root, STATE_DIR, INDEX_FILE);
}

function isIno(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

const HEAD = '{"version":2,"check":"';
const ENTRIES = '","entries":';

/**
 * Parses and validates an index document; throws a SkiffError naming what is
 * wrong. With `h64`, the rows' line hashes are remembered for the digest.
 */
export function parseIndex(text: string, h64?: (s: string) => string): Map<string, IndexEntry> {
  if (!text.startsWith(HEAD)) return parseObjects(text);
  const at = text.indexOf(ENTRIES, HEAD.length);
  if (at < 0 || !text.endsWith('}')) throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index is cut short');
  const check = text.slice(HEAD.length, at);
  const body = text.slice(at + ENTRIES.length, -1);
  // An empty check: written without a hasher, so without line hashes either.
  const verified = h64 !== undefined && check !== '';
  if (verified && h64(body) !== check) throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index does not match its checksum');
  const rows: unknown = JSON.parse(body);
  if (!Array.isArray(rows)) throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index has no entries array');
  const map = new Map<string, IndexEntry>();
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 9) throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'an index entry is not a row of 9 fields');
    const [path, type, size, mtime, mode, value, ino, hi, lo] = row as unknown[];
    const raw: Record<string, unknown> = { path, type, size, mtime, mode, hash: type === EntryType.SYMLINK ? '' : value };
    if (type === EntryType.SYMLINK) raw.target = value;
    const entry = clean(raw, ino);
    map.set(entry.path, entry);
    if (verified && Number.isInteger(hi) && Number.isInteger(lo)) rememberLineHash(h64, entry, hi as number, lo as number);
  }
  return map;
}

/** Version 1: a document of entry objects. */
function parseObjects(text: string): Map<string, IndexEntry> {
  const doc: unknown = JSON.parse(text);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index is not a JSON object');
  }
  const { version, entries } = doc as { version?: unknown; entries?: unknown };
  if (version !== INDEX_VERSION_OBJECTS) {
    throw new SkiffError(ErrorCode.INDEX_CORRUPT, `the index has version ${JSON.stringify(version)}, expected ${INDEX_VERSION}`);
  }
  if (!Array.isArray(entries)) throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index has no entries array');
  const map = new Map<string, IndexEntry>();
  for (const raw of entries) {
    const entry = clean(raw, (raw as { ino?: unknown } | null)?.ino);
    map.set(entry.path, entry);
  }
  return map;
}

/** One validated entry. */
function clean(raw: unknown, ino: unknown): IndexEntry {
  // validateEntry checks the path rules, type, size, mtime, mode and hash.
  const entry = validateEntry(raw);
  if (ino !== undefined && !isIno(ino)) {
    throw new SkiffError(ErrorCode.INDEX_CORRUPT, `index entry ${JSON.stringify(entry.path)} has an invalid inode`);
  }
  const out: IndexEntry = { path: entry.path, type: entry.type, size: entry.size, mtime: entry.mtime, mode: entry.mode, hash: entry.hash, ino: isIno(ino) ? ino : UNKNOWN_INO };
  if (entry.target !== undefined) out.target = entry.target;
  return out;
}

/**
 * Loads the index of the project at `root`. Never rejects: a missing file is
 * an empty index; an unreadable, corrupt, unknown-version or invalid one is
 * an empty index plus a SKIFF_E_INDEX_CORRUPT warning (the next scan then
 * hashes every file, which is slower but always right).
 */
export async function loadIndex(root: string, h64?: (s: string) => string): Promise<LoadedIndex> {
  const file = indexPath(root);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: new Map() };
    return { entries: new Map(), warning: corrupt(file, err) };
  }
  try {
    return { entries: parseIndex(text, h64) };
  } catch (err) {
    return { entries: new Map(), warning: corrupt(file, err) };
  }
}

function corrupt(file: string, cause: unknown): SkiffError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new SkiffError(ErrorCode.INDEX_CORRUPT, `ignoring the index ${file} (${why}); every file will be hashed again`, {
    cause,
  });
}

/**
 * The document for `entries`, compact. An entry without an inode is stored
 * with UNKNOWN_INO. With `h64` the rows carry their line hashes (computed
 * only for entries whose hash is not known yet) and the checksum is real;
 * without it they are zeros, and such a file is read without them.
 */
export function serializeIndex(entries: Iterable<Entry & { ino?: number }>, h64: (s: string) => string = NO_CHECK): string {
  const rows: unknown[] = [];
  for (const e of entries) {
    const line = h64 === NO_CHECK ? { hi: 0, lo: 0 } : lineHashOf(h64, e);
    rows.push([e.path, e.type, e.size, e.mtime, e.mode, e.type === EntryType.SYMLINK ? (e.target ?? '') : e.hash, e.ino ?? UNKNOWN_INO, line.hi, line.lo]);
  }
  const body = JSON.stringify(rows);
  return `${HEAD}${h64(body)}${ENTRIES}${body}}`;
}

/** A checksum that never matches a real one: a document written without a hasher is checked by shape only. */
function NO_CHECK(): string {
  return '';
}

let tempCounter = 0;

/**
 * Writes the index of the project at `root` atomically (see above). Entries
 * without an inode (entries as the agent acknowledged them) are kept; such a
 * file is hashed again by the next scan. Rejects with SKIFF_E_IO.
 */
export async function saveIndex(root: string, entries: ReadonlyMap<string, Entry & { ino?: number }>, h64?: (s: string) => string): Promise<void> {
  const dir = join(root, STATE_DIR);
  const temp = join(dir, `.${INDEX_FILE}.${process.pid}.${++tempCounter}.tmp`);
  const body = serializeIndex(entries.values(), h64);
  try {
    // Not recursive: a project directory that vanished (an unmounted volume)
    // must not be recreated by its own index; the save then fails instead.
    await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    const handle = await open(temp, 'w', 0o644);
    try {
      await handle.writeFile(body, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, indexPath(root));
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw new SkiffError(ErrorCode.IO, `cannot write the index ${indexPath(root)}`, { cause: err });
  }
}
