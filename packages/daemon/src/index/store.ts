import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EntryType, ErrorCode, SkiffError, validateEntry, type Entry } from '@skiff/protocol';
import { lineHashOf, rememberLineHash } from '../core/tree-state.ts';
import { UNKNOWN_INO, type IndexEntry } from './entry.ts';

/**
 * The index on disk: `.skiff/index.json`, one compact JSON document
 * `{"version":3,"check":H,"entries":["D",[PATH,...],[NUMBER,...],[VALUE,...]]}`
 * in columns: per entry its path, five numbers (type: 0 file, 1 directory,
 * 2 symlink; size, mtime, mode, inode) and its value (a file's hash, a
 * symlink's target, '' for a directory). D is the digest of those entries
 * (the manifest digest, core/tree-state.ts) and H the xxhash64 of the text
 * of the entries array. With the digest a restart that finds the tree as it
 * was knows its digest without hashing a line: only entries the scan found
 * changed are hashed (carryDigest). In columns, parsing makes three arrays
 * and the strings, not an array per entry and a number object per mtime.
 * Measured on 54,000 entries, a one-shot push with nothing changed: loading
 * version 2 (a row per entry with its line hash's halves, kept in a WeakMap)
 * took 160 ms, most of it collecting what the parse made. Versions 2 and 1
 * (`{"version":1,"entries":[Entry with ino, ...]}`) are still read.
 *
 * Trust: H must match, so a file cut short or edited by hand is discarded
 * whole (an empty index and a warning: every file is hashed again), and
 * every entry is checked for shape and path rules as before.
 *
 * Invariant: the file is either the previous complete document or the new
 * complete one. It is written to a temporary file in the same directory,
 * flushed, then renamed over the old one (rename is atomic within a file
 * system), so a crash mid-write leaves at worst a stray temporary file.
 */
export const STATE_DIR = '.skiff';
export const INDEX_FILE = 'index.json';
export const INDEX_VERSION = 3;
/** The version before rows, still read. */
const INDEX_VERSION_OBJECTS = 1;

export interface LoadedIndex {
  entries: Map<string, IndexEntry>;
  /** The digest of `entries`, when the file recorded it (version 3) under a checksum that matched. */
  digest?: string;
  /** SKIFF_E_INDEX_CORRUPT when the file exists but could not be used; the index is then empty. */
  warning?: SkiffError;
}

export function indexPath(root: string): string {
  return join(root, STATE_DIR, INDEX_FILE);
}

function isIno(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

const HEAD = '{"version":3,"check":"';
const HEAD_ROWS = '{"version":2,"check":"';
const ENTRIES = '","entries":';
const DIGEST_RE = /^[0-9a-f]{16}$/;

export interface ParsedIndex {
  entries: Map<string, IndexEntry>;
  digest?: string;
}

/** Numbers per entry in version 3: type, size, mtime, mode, inode. */
const NUMBERS = 5;
const TYPES: readonly EntryType[] = [EntryType.FILE, EntryType.DIR, EntryType.SYMLINK];

/**
 * Parses and validates an index document; throws a SkiffError naming what is
 * wrong. With `h64` the checksum is verified, and only then is the recorded
 * digest (version 3) or are the rows' line hashes (version 2) taken.
 */
export function parseIndex(text: string, h64?: (s: string) => string): ParsedIndex {
  const rows = text.startsWith(HEAD_ROWS);
  if (!rows && !text.startsWith(HEAD)) return { entries: parseObjects(text) };
  const at = text.indexOf(ENTRIES, HEAD.length);
  if (at < 0 || !text.endsWith('}')) throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index is cut short');
  const check = text.slice(HEAD.length, at);
  const body = text.slice(at + ENTRIES.length, -1);
  // An empty check: written without a hasher, so without a digest or line hashes either.
  const verified = h64 !== undefined && check !== '';
  if (verified && h64(body) !== check) throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index does not match its checksum');
  const doc: unknown = JSON.parse(body);
  if (!Array.isArray(doc)) throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index has no entries array');
  if (rows) return { entries: parseRows(doc, verified ? h64 : undefined) };
  const [digest, paths, numbers, values] = doc as unknown[];
  if (doc.length !== 4 || typeof digest !== 'string' || !DIGEST_RE.test(digest) || !Array.isArray(paths) || !Array.isArray(numbers) || !Array.isArray(values)) {
    throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index is not a digest and three columns');
  }
  if (numbers.length !== paths.length * NUMBERS || values.length !== paths.length) {
    throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the columns of the index differ in length');
  }
  const map = new Map<string, IndexEntry>();
  for (let i = 0, f = 0; i < paths.length; i++, f += NUMBERS) {
    const type = TYPES[numbers[f] as number];
    const ino: unknown = numbers[f + 4];
    if (type === undefined) throw new SkiffError(ErrorCode.INDEX_CORRUPT, `index entry ${JSON.stringify(paths[i])} has an invalid type`);
    if (!isIno(ino)) throw new SkiffError(ErrorCode.INDEX_CORRUPT, `index entry ${JSON.stringify(paths[i])} has an invalid inode`);
    const symlink = type === EntryType.SYMLINK;
    const entry = { path: paths[i], type, size: numbers[f + 1], mtime: numbers[f + 2], mode: numbers[f + 3], hash: symlink ? '' : values[i], ino } as IndexEntry;
    if (symlink) entry.target = values[i] as string;
    // validateEntry checks the path rules, type, size, mtime, mode and hash.
    validateEntry(entry);
    map.set(entry.path, entry);
  }
  return verified ? { entries: map, digest } : { entries: map };
}

/** Version 2: a row per entry, with its line hash's halves (remembered when the checksum was verified). */
function parseRows(rows: unknown[], h64: ((s: string) => string) | undefined): Map<string, IndexEntry> {
  const map = new Map<string, IndexEntry>();
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 9) throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'an index entry is not a row of 9 fields');
    const [path, type, size, mtime, mode, value, ino, hi, lo] = row as unknown[];
    const raw: Record<string, unknown> = { path, type, size, mtime, mode, hash: type === EntryType.SYMLINK ? '' : value };
    if (type === EntryType.SYMLINK) raw.target = value;
    const entry = clean(raw, ino);
    map.set(entry.path, entry);
    if (h64 && Number.isInteger(hi) && Number.isInteger(lo)) rememberLineHash(h64, entry, hi as number, lo as number);
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
    return parseIndex(text, h64);
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
 * with UNKNOWN_INO. With `h64` the checksum is real and the digest recorded
 * is `digest` when the caller knows it (the engine's tree, carried along),
 * else the entries' lines are hashed for it; without it the checksum is
 * empty and the file is read back by shape only, without its digest.
 */
export function serializeIndex(entries: Iterable<Entry & { ino?: number }>, h64: (s: string) => string = NO_CHECK, digest?: string): string {
  const paths: string[] = [];
  const numbers: number[] = [];
  const values: string[] = [];
  let hi = 0;
  let lo = 0;
  const hashLines = h64 !== NO_CHECK && digest === undefined;
  for (const e of entries) {
    if (hashLines) {
      const line = lineHashOf(h64, e);
      hi ^= line.hi;
      lo ^= line.lo;
    }
    paths.push(e.path);
    numbers.push(TYPES.indexOf(e.type), e.size, e.mtime, e.mode, e.ino ?? UNKNOWN_INO);
    values.push(e.type === EntryType.SYMLINK ? (e.target ?? '') : e.hash);
  }
  const recorded = digest ?? (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
  const body = JSON.stringify([recorded, paths, numbers, values]);
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
 * file is hashed again by the next scan. `entries` is read before the call
 * returns: the caller may change the map while the write goes on. Rejects
 * with SKIFF_E_IO.
 */
export async function saveIndex(
  root: string,
  entries: ReadonlyMap<string, Entry & { ino?: number }>,
  h64?: (s: string) => string,
  digest?: string,
): Promise<void> {
  const dir = join(root, STATE_DIR);
  const temp = join(dir, `.${INDEX_FILE}.${process.pid}.${++tempCounter}.tmp`);
  const body = serializeIndex(entries.values(), h64, digest);
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
