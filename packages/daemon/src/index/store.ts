import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, SkiffError, validateEntry, type Entry } from '@skiff/protocol';
import { UNKNOWN_INO, type IndexEntry } from './entry.ts';

/**
 * The index on disk: `.skiff/index.json`, one compact JSON document
 * `{ "version": 1, "entries": [IndexEntry, ...] }`.
 *
 * Invariant: the file is either the previous complete document or the new
 * complete one. It is written to a temporary file in the same directory,
 * flushed, then renamed over the old one (rename is atomic within a file
 * system), so a crash mid-write leaves at worst a stray temporary file.
 */
export const STATE_DIR = '.skiff';
export const INDEX_FILE = 'index.json';
export const INDEX_VERSION = 1;

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

/** Parses and validates an index document; throws a SkiffError naming what is wrong. */
export function parseIndex(text: string): Map<string, IndexEntry> {
  const doc: unknown = JSON.parse(text);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index is not a JSON object');
  }
  const { version, entries } = doc as { version?: unknown; entries?: unknown };
  if (version !== INDEX_VERSION) {
    throw new SkiffError(ErrorCode.INDEX_CORRUPT, `the index has version ${JSON.stringify(version)}, expected ${INDEX_VERSION}`);
  }
  if (!Array.isArray(entries)) throw new SkiffError(ErrorCode.INDEX_CORRUPT, 'the index has no entries array');
  const map = new Map<string, IndexEntry>();
  for (const raw of entries) {
    // validateEntry checks the path rules, type, size, mtime, mode and hash.
    const entry = validateEntry(raw) as Entry & { ino?: unknown };
    if (entry.ino !== undefined && !isIno(entry.ino)) {
      throw new SkiffError(ErrorCode.INDEX_CORRUPT, `index entry ${JSON.stringify(entry.path)} has an invalid inode`);
    }
    const clean: IndexEntry = {
      path: entry.path,
      type: entry.type,
      size: entry.size,
      mtime: entry.mtime,
      mode: entry.mode,
      hash: entry.hash,
      ino: isIno(entry.ino) ? entry.ino : UNKNOWN_INO,
    };
    if (entry.target !== undefined) clean.target = entry.target;
    map.set(entry.path, clean);
  }
  return map;
}

/**
 * Loads the index of the project at `root`. Never rejects: a missing file is
 * an empty index; an unreadable, corrupt, unknown-version or invalid one is
 * an empty index plus a SKIFF_E_INDEX_CORRUPT warning (the next scan then
 * hashes every file, which is slower but always right).
 */
export async function loadIndex(root: string): Promise<LoadedIndex> {
  const file = indexPath(root);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: new Map() };
    return { entries: new Map(), warning: corrupt(file, err) };
  }
  try {
    return { entries: parseIndex(text) };
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

/** The JSON document for `entries`, compact. An entry without an inode is stored without one. */
export function serializeIndex(entries: Iterable<Entry & { ino?: number }>): string {
  const list: (Entry & { ino?: number })[] = [];
  for (const e of entries) {
    const out: Entry & { ino?: number } = { path: e.path, type: e.type, size: e.size, mtime: e.mtime, mode: e.mode, hash: e.hash };
    if (e.target !== undefined) out.target = e.target;
    if (e.ino !== undefined) out.ino = e.ino;
    list.push(out);
  }
  return JSON.stringify({ version: INDEX_VERSION, entries: list });
}

let tempCounter = 0;

/**
 * Writes the index of the project at `root` atomically (see above). Entries
 * without an inode (entries as the agent acknowledged them) are kept; such a
 * file is hashed again by the next scan. Rejects with SKIFF_E_IO.
 */
export async function saveIndex(root: string, entries: ReadonlyMap<string, Entry & { ino?: number }>): Promise<void> {
  const dir = join(root, STATE_DIR);
  const temp = join(dir, `.${INDEX_FILE}.${process.pid}.${++tempCounter}.tmp`);
  const body = serializeIndex(entries.values());
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
