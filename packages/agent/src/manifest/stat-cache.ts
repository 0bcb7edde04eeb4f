import { EntryType, type Entry } from '@skiff/protocol';

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
 *  - never an entry whose ctime was within RACY_MS of the moment it was
 *    stat'ed: the kernel stamps times from a clock that ticks every few
 *    milliseconds, so a write in the same tick after that lstat would leave
 *    every recorded field as it was (git's "racy" entries). Those are not
 *    saved, and are hashed again at the next start.
 *
 * The body is columnar (one JSON array per field): parsing it makes a few
 * arrays of numbers instead of an array and boxed numbers per entry, which
 * halved what a restart spent collecting garbage. A row is checked when it
 * is used, not before: a malformed one is a miss, its file hashed again.
 */

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
  /** xxhash64 of the body (everything after the first line). */
  body: string;
}

/** The columns of the body, all of one length. */
interface Columns {
  path: string[];
  /** 'f' for a file, 'l' for a symlink. */
  type: string[];
  size: number[];
  mtime: number[];
  mode: number[];
  /** Content hash of a file, target of a symlink. */
  value: string[];
  ino: number[];
  statMtime: number[];
  ctime: number[];
  stMode: number[];
  hi: number[];
  lo: number[];
}

const COLUMNS: ReadonlyArray<keyof Columns> = ['path', 'type', 'size', 'mtime', 'mode', 'value', 'ino', 'statMtime', 'ctime', 'stMode', 'hi', 'lo'];
const HASH_RE = /^[0-9a-f]{16}$/;

export function encodeStatCache(root: RootId, entries: Iterable<CachedEntry>, h64: (s: string) => string): string {
  const c: Columns = { path: [], type: [], size: [], mtime: [], mode: [], value: [], ino: [], statMtime: [], ctime: [], stMode: [], hi: [], lo: [] };
  for (const { entry: e, stat: s, hi, lo } of entries) {
    if (e.type !== EntryType.FILE && e.type !== EntryType.SYMLINK) continue;
    c.path.push(e.path);
    c.type.push(e.type === EntryType.FILE ? 'f' : 'l');
    c.size.push(e.size);
    c.mtime.push(e.mtime);
    c.mode.push(e.mode);
    c.value.push(e.type === EntryType.FILE ? e.hash : (e.target ?? ''));
    c.ino.push(s.ino);
    c.statMtime.push(s.mtimeMs);
    c.ctime.push(s.ctimeMs);
    c.stMode.push(s.mode);
    c.hi.push(hi);
    c.lo.push(lo);
  }
  const body = JSON.stringify(c);
  const header: CacheHeader = { format: STAT_CACHE_FORMAT, version: STAT_CACHE_VERSION, root: root.path, rootDev: root.dev, rootIno: root.ino, body: h64(body) };
  return `${JSON.stringify(header)}\n${body}`;
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
export class SavedManifest {
  private readonly index = new Map<string, number>();

  constructor(private readonly c: Columns) {
    for (let i = 0; i < c.path.length; i++) if (typeof c.path[i] === 'string') this.index.set(c.path[i], i);
  }

  static readonly EMPTY = new SavedManifest({ path: [], type: [], size: [], mtime: [], mode: [], value: [], ino: [], statMtime: [], ctime: [], stMode: [], hi: [], lo: [] });

  get size(): number {
    return this.index.size;
  }

  /**
   * The saved entry of `path` when `st` (an lstat of it now) shows exactly
   * what was recorded and the row is well formed; otherwise undefined.
   */
  match(path: string, st: StatNow): CachedEntry | undefined {
    const i = this.index.get(path);
    if (i === undefined) return undefined;
    const c = this.c;
    if (c.ino[i] !== st.ino || c.statMtime[i] !== st.mtimeMs || c.ctime[i] !== st.ctimeMs || c.stMode[i] !== st.mode) return undefined;
    const isFile = c.type[i] === 'f';
    if (isFile !== st.isFile() || (!isFile && c.type[i] !== 'l')) return undefined;
    const size = c.size[i];
    const mtime = c.mtime[i];
    const mode = c.mode[i];
    const value = c.value[i];
    const hi = c.hi[i];
    const lo = c.lo[i];
    if (size !== st.size || !isCount(size) || !isTime(mtime) || !isCount(mode) || mode > 0o777 || typeof value !== 'string') return undefined;
    if (!Number.isInteger(hi) || !Number.isInteger(lo) || (isFile && !HASH_RE.test(value))) return undefined;
    const entry: Entry = isFile ? { path, type: EntryType.FILE, size, mtime, mode, hash: value } : { path, type: EntryType.SYMLINK, size, mtime, mode, hash: '', target: value };
    return { entry, stat: { ino: st.ino, size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode }, hi, lo };
  }
}

/** A decoded cache, or a sentence saying why the file is not one to trust (it is then ignored whole). */
export function decodeStatCache(text: string, root: RootId, h64: (s: string) => string): { saved: SavedManifest } | { rejected: string } {
  const nl = text.indexOf('\n');
  if (nl < 0) return { rejected: 'it has no header line' };
  let header: Partial<CacheHeader>;
  try {
    header = JSON.parse(text.slice(0, nl)) as Partial<CacheHeader>;
  } catch {
    return { rejected: 'its header is not JSON' };
  }
  if (header.format !== STAT_CACHE_FORMAT) return { rejected: 'it is not a skiff agent manifest' };
  if (header.version !== STAT_CACHE_VERSION) return { rejected: `it has version ${JSON.stringify(header.version)}, not ${STAT_CACHE_VERSION}` };
  if (header.root !== root.path || header.rootDev !== root.dev || header.rootIno !== root.ino) return { rejected: 'it describes another root' };
  const body = text.slice(nl + 1);
  if (h64(body) !== header.body) return { rejected: 'its content does not match its checksum' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { rejected: 'its body is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { rejected: 'its body is not an object' };
  const c = parsed as Record<string, unknown>;
  const length = Array.isArray(c.path) ? c.path.length : -1;
  if (!COLUMNS.every((name) => Array.isArray(c[name]) && (c[name] as unknown[]).length === length)) return { rejected: 'its columns are missing or of unequal lengths' };
  return { saved: new SavedManifest(c as unknown as Columns) };
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
