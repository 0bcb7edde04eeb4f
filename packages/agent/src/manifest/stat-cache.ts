import { EntryType, type Entry } from '@skiff/protocol';
import type { SavedRows } from './manifest.ts';
import { isDirMode, isFileMode, isLinkMode, rawCtimeMs, rawIno, rawMode, rawMtimeMs, rawSize, type RawListing } from '../native-fs/stat-dir.ts';

/*
 * The manifest as the agent saves it beside its root, with what lstat said
 * of each file and symlink when it was saved, so that a restart re-stats the
 * tree and re-reads only what changed. Pure: text in, records out.
 *
 * What the file may be trusted for, and how:
 *  - that it is the agent's own and whole: a first line names the format,
 *    its version, the root (path, device and inode) and the xxhash64 of the
 *    rest; anything else — another root, a truncated or edited file, another
 *    version — is discarded whole;
 *  - an entry's content hash, only while the path's lstat still shows the
 *    same type, size, mtime, inode, ctime and mode as recorded. ctime cannot
 *    be set by anyone (utimes moves it to now), so a file changed behind the
 *    agent's back, even with its mtime put back, no longer matches;
 *  - a directory's entry (its mode and mtime, all the manifest holds of it),
 *    while its lstat shows the same mode, inode, mtime and ctime: a restart
 *    then makes no entry and hashes no line for it either (4,000 of them
 *    were ~15 ms of a start). Its size is not compared: a directory's
 *    changes with its entries, which its mtime already tells;
 *  - never an entry whose ctime was within RACY_MS of the moment it was
 *    stat'ed: the kernel stamps times from a clock that ticks every few
 *    milliseconds, so a write in the same tick after that lstat would leave
 *    every recorded field as it was (git's "racy" entries). Those are not
 *    saved, and are hashed again at the next start.
 *
 * The body is binary: the numbers of all entries in one block of doubles,
 * their paths, then their hashes or link targets, each as one string joined
 * by NUL (which no path or target holds). Reading it makes two splits and a
 * copy, not a JSON parse of an object or an array per entry: a restart spent
 * more time collecting the garbage of that parse than reading the file.
 * A row is checked when it is used, not before: a malformed one is a miss,
 * its file hashed again. */

export const STAT_CACHE_FORMAT = 'skiff-agent-manifest';
export const STAT_CACHE_VERSION = 1;
/** An entry whose ctime is this close to the moment it was stat'ed may hide a later write: see above. */
export const RACY_MS = 50;

/** What lstat said of an entry, as compared at the next start. */
export interface StatKey {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Permission bits and type bits (st_mode). */
  mode: number;
}

export interface CachedEntry {
  entry: Entry;
  stat: StatKey;
  /** The two 32-bit halves of the hash of the entry's line (Manifest's digest part), saved so a restart hashes no line. */
  hi: number;
  lo: number;
}

export interface RootId {
  path: string;
  dev: number;
  ino: number;
}

interface CacheHeader {
  format: string;
  version: number;
  root: string;
  rootDev: number;
  rootIno: number;
  /** Entries in the body. */
  count: number;
  /** xxhash64 of the body (everything after the first line). */
  body: string;
}

/** Doubles per entry: type (0 file, 1 symlink, 2 directory), size, mtime, mode, then lstat's ino, mtimeMs, ctimeMs, st_mode, then the line hash's halves. */
const FIELDS = 10;
/** Bytes before the numbers: count, paths' bytes, values' bytes (u32 each), padded to 8 for the doubles. */
const PREFIX_BYTES = 16;
const SEP = '\0';
const FILE_ROW = 0;
const LINK_ROW = 1;
const DIR_ROW = 2;
const TYPE_CODES: Record<EntryType, number> = { [EntryType.FILE]: FILE_ROW, [EntryType.SYMLINK]: LINK_ROW, [EntryType.DIR]: DIR_ROW };

export function encodeStatCache(root: RootId, entries: Iterable<CachedEntry>, h64Bytes: (b: Uint8Array) => string): Buffer {
  const numbers: number[] = [];
  const paths: string[] = [];
  const values: string[] = [];
  for (const { entry: e, stat: s, hi, lo } of entries) {
    numbers.push(TYPE_CODES[e.type], e.size, e.mtime, e.mode, s.ino, s.mtimeMs, s.ctimeMs, s.mode, hi, lo);
    paths.push(e.path);
    values.push(e.type === EntryType.FILE ? e.hash : (e.target ?? ''));
  }
  const pathBytes = Buffer.from(paths.join(SEP), 'utf8');
  const valueBytes = Buffer.from(values.join(SEP), 'utf8');
  const numbersEnd = PREFIX_BYTES + numbers.length * 8;
  const body = Buffer.alloc(numbersEnd + pathBytes.length + valueBytes.length);
  body.writeUInt32LE(paths.length, 0);
  body.writeUInt32LE(pathBytes.length, 4);
  body.writeUInt32LE(valueBytes.length, 8);
  body.set(new Uint8Array(new Float64Array(numbers).buffer), PREFIX_BYTES);
  body.set(pathBytes, numbersEnd);
  body.set(valueBytes, numbersEnd + pathBytes.length);
  const header: CacheHeader = { format: STAT_CACHE_FORMAT, version: STAT_CACHE_VERSION, root: root.path, rootDev: root.dev, rootIno: root.ino, count: paths.length, body: h64Bytes(body) };
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), body]);
}

/** What lstat says of a path now, in the fields a saved entry is compared on. */
export interface StatNow {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  mode: number;
  isFile(): boolean;
}

/** A decoded cache: entries looked up by path and checked against an lstat of now. */
export class SavedManifest implements SavedRows {
  /**
   * The paths as strings and a map of them to their rows, made the first
   * time a path is looked up: a restart whose root is as saved is vouched
   * for by the native walk (verifySaved) over `pathBlock`, and never needs
   * either (54,000 strings and map entries were ~20 ms of that start).
   */
  private lazyPaths: string[] | null = null;
  private lazyIndex: Map<string, number> | null = null;

  /** The rows' hashes and link targets as strings, made when an entry is: see lazyPaths. */
  private lazyValues: string[] | null = null;

  /**
   * `numbers`: FIELDS doubles per row. `pathBlock`, `valueBlock`: the rows'
   * paths, and their hashes or link targets, UTF-8, joined by NUL (one per
   * row, every file row's a hash: as decodeStatCache checked).
   */
  constructor(
    readonly numbers: Float64Array,
    readonly pathBlock: Uint8Array,
    private readonly valueBlock: Uint8Array,
  ) {}

  /** Rows, for a bitset of them (Manifest.adoptSaved). */
  get rows(): number {
    return this.numbers.length / FIELDS;
  }

  private get paths(): string[] {
    this.lazyPaths ??= splitBlock(this.pathBlock, this.rows);
    return this.lazyPaths;
  }

  private get values(): string[] {
    this.lazyValues ??= splitBlock(this.valueBlock, this.rows);
    return this.lazyValues;
  }

  private get index(): Map<string, number> {
    if (this.lazyIndex === null) {
      const paths = this.paths;
      this.lazyIndex = new Map();
      for (let i = 0; i < paths.length; i++) this.lazyIndex.set(paths[i], i);
    }
    return this.lazyIndex;
  }

  rowOf(path: string): number | undefined {
    return this.index.get(path);
  }

  pathAt(i: number): string {
    return this.paths[i];
  }

  static readonly EMPTY = new SavedManifest(new Float64Array(0), new Uint8Array(0), new Uint8Array(0));

  /**
   * The row of `path` when the lstat the native lister gave (a slice of its
   * stats, see native-fs/stat-dir.ts) shows exactly what was recorded and
   * the row is well formed; -1 otherwise. No object is made for a match:
   * entryAt() makes the entry, statAt() the witness when it is saved again.
   */
  matchRaw(path: string, listing: RawListing, at: number): number {
    const i = this.index.get(path);
    if (i === undefined) return -1;
    return this.rowMatches(i, rawMode(listing, at), rawIno(listing, at), rawSize(listing, at), rawMtimeMs(listing, at), rawCtimeMs(listing, at)) ? i : -1;
  }

  /** As matchRaw, from an lstat made by Node (no native lister, or an entry it could not vouch for). */
  matchStat(path: string, st: StatNow): number {
    const i = this.index.get(path);
    if (i === undefined) return -1;
    return this.rowMatches(i, st.mode, st.ino, st.size, st.mtimeMs, st.ctimeMs) ? i : -1;
  }

  /** Whether row `i` recorded exactly this lstat, of its type, and is well formed. */
  private rowMatches(i: number, mode: number, ino: number, size: number, mtimeMs: number, ctimeMs: number): boolean {
    const n = this.numbers;
    const f = i * FIELDS;
    if (n[f + 4] !== ino || n[f + 5] !== mtimeMs || n[f + 6] !== ctimeMs || n[f + 7] !== mode) return false;
    const type = n[f];
    if (type === DIR_ROW) return isDirMode(mode) && this.wellFormed(i);
    if (!(type === FILE_ROW ? isFileMode(mode) : type === LINK_ROW && isLinkMode(mode)) || n[f + 1] !== size) return false;
    return this.wellFormed(i);
  }

  /** Whether row `i` is a directory's. */
  isDirRow(i: number): boolean {
    return this.numbers[i * FIELDS] === DIR_ROW;
  }

  /** The entry of row `i` (matched) at `path`. */
  entryAt(i: number, path: string): Entry {
    const n = this.numbers;
    const f = i * FIELDS;
    const [size, mtime, mode, value] = [n[f + 1], n[f + 2], n[f + 3], this.values[i]];
    if (n[f] === DIR_ROW) return { path, type: EntryType.DIR, size: 0, mtime, mode, hash: '' };
    return n[f] === FILE_ROW ? { path, type: EntryType.FILE, size, mtime, mode, hash: value } : { path, type: EntryType.SYMLINK, size, mtime, mode, hash: '', target: value };
  }

  lineHi(i: number): number {
    return this.numbers[i * FIELDS + 8];
  }

  lineLo(i: number): number {
    return this.numbers[i * FIELDS + 9];
  }

  /** The lstat row `i` recorded: its witness, to be saved again. */
  statAt(i: number): StatKey {
    const n = this.numbers;
    const f = i * FIELDS;
    return { ino: n[f + 4], size: n[f + 1], mtimeMs: n[f + 5], ctimeMs: n[f + 6], mode: n[f + 7] };
  }

  private wellFormed(i: number): boolean {
    const n = this.numbers;
    const f = i * FIELDS;
    const [size, mtime, mode, hi, lo] = [n[f + 1], n[f + 2], n[f + 3], n[f + 8], n[f + 9]];
    // File rows' hashes were checked at decode (checkValues).
    return isCount(size) && isTime(mtime) && isCount(mode) && mode <= 0o777 && Number.isInteger(hi) && Number.isInteger(lo);
  }
}

/** A decoded cache, or a sentence saying why the file is not one to trust (it is then ignored whole). */
export function decodeStatCache(data: Buffer, root: RootId, h64Bytes: (b: Uint8Array) => string): { saved: SavedManifest } | { rejected: string } {
  const nl = data.indexOf(0x0a);
  if (nl < 0) return { rejected: 'it has no header line' };
  let header: Partial<CacheHeader>;
  try {
    header = JSON.parse(data.toString('utf8', 0, nl)) as Partial<CacheHeader>;
  } catch {
    return { rejected: 'its header is not JSON' };
  }
  if (typeof header !== 'object' || header === null || header.format !== STAT_CACHE_FORMAT) return { rejected: 'it is not a skiff agent manifest' };
  if (header.version !== STAT_CACHE_VERSION) return { rejected: `it has version ${JSON.stringify(header.version)}, not ${STAT_CACHE_VERSION}` };
  if (header.root !== root.path || header.rootDev !== root.dev || header.rootIno !== root.ino) return { rejected: 'it describes another root' };
  const body = data.subarray(nl + 1);
  if (h64Bytes(body) !== header.body) return { rejected: 'its content does not match its checksum' };
  if (body.length < PREFIX_BYTES) return { rejected: 'it is cut short' };
  const count = body.readUInt32LE(0);
  const pathsLength = body.readUInt32LE(4);
  const valuesLength = body.readUInt32LE(8);
  const numbersEnd = PREFIX_BYTES + count * FIELDS * 8;
  if (count !== header.count || numbersEnd + pathsLength + valuesLength !== body.length) return { rejected: 'its parts do not add up' };
  // A copy: the doubles must be 8-byte aligned, which a slice of the file's buffer need not be.
  const numbers = new Float64Array(count * FIELDS);
  new Uint8Array(numbers.buffer).set(body.subarray(PREFIX_BYTES, numbersEnd));
  const pathBlock = body.subarray(numbersEnd, numbersEnd + pathsLength);
  const valueBlock = body.subarray(numbersEnd + pathsLength);
  if (piecesOf(pathBlock) !== count) return { rejected: 'its names do not add up' };
  const values = checkValues(valueBlock, numbers, count);
  if (values !== null) return { rejected: values };
  return { saved: new SavedManifest(numbers, pathBlock, valueBlock) };
}

/**
 * Why the values block is not one value per row with every file row's a
 * hash (16 lowercase hex digits), or null. Checked once, on the bytes: no
 * string is made for a value until its entry is (a restart used to split
 * and check 54,000 strings, ~20 ms).
 */
function checkValues(block: Buffer, numbers: Float64Array, count: number): string | null {
  if (count === 0) return block.length === 0 ? null : 'its names do not add up';
  let at = 0;
  for (let i = 0; i < count; i++) {
    const end = i === count - 1 ? block.length : block.indexOf(0, at);
    if (end < 0 || (i === count - 1 && block.indexOf(0, at) >= 0)) return 'its names do not add up';
    if (numbers[i * FIELDS] === FILE_ROW) {
      if (end - at !== 16) return 'it holds a malformed hash';
      for (let k = at; k < end; k++) {
        const c = block[k];
        if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return 'it holds a malformed hash';
      }
    }
    at = end + 1;
  }
  return null;
}

/** The strings of a NUL-joined block of `rows` of them (decodeStatCache checked the count). */
function splitBlock(block: Uint8Array, rows: number): string[] {
  return rows === 0 ? [] : Buffer.from(block.buffer, block.byteOffset, block.length).toString('utf8').split(SEP);
}

/** How many strings a NUL-joined block holds (none when empty, as the encoder writes no rows). */
function piecesOf(block: Buffer): number {
  if (block.length === 0) return 0;
  let pieces = 1;
  for (let at = block.indexOf(0); at >= 0; at = block.indexOf(0, at + 1)) pieces++;
  return pieces;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Whether an lstat now shows what `a` recorded: same inode, size, mtime, ctime and st_mode. */
export function sameStat(a: StatKey, b: StatNow): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.mode === b.mode;
}

/** Whether an lstat taken at `statAt` can vouch for the entry: its ctime is not within RACY_MS of it. */
export function settled(ctimeMs: number, statAt: number): boolean {
  return ctimeMs < statAt - RACY_MS;
}
