import { EntryType, entryLine, type Entry } from '@skiff/protocol';

/** The two 32-bit halves of an entry line's 64-bit hash. */
export interface LineHash {
  hi: number;
  lo: number;
}

/**
 * Line hashes already computed, per hash function and entry object. Entries
 * are never changed once made (a change is a new entry), so an entry held by
 * two trees — the project's and the agent's, after a send — is hashed once.
 */
const lineHashes = new WeakMap<(s: string) => string, WeakMap<Entry, LineHash>>();

function cacheFor(h64: (s: string) => string): WeakMap<Entry, LineHash> {
  let cache = lineHashes.get(h64);
  if (cache === undefined) {
    cache = new WeakMap();
    lineHashes.set(h64, cache);
  }
  return cache;
}

/** The line hash of `entry` under `h64`, computed once per entry object. */
export function lineHashOf(h64: (s: string) => string, entry: Entry): LineHash {
  const cache = cacheFor(h64);
  let h = cache.get(entry);
  if (h === undefined) {
    const hex = h64(entryLine(entry));
    h = { hi: parseInt(hex.slice(0, 8), 16), lo: parseInt(hex.slice(8, 16), 16) };
    cache.set(entry, h);
  }
  return h;
}

/** Entries hashed per step of LineHashesAhead: about a millisecond. */
const LINES_PER_STEP = 256;

/**
 * Line hashes computed ahead of need, a few at a time: a batch's sender
 * takes each entry it sends and hashes lines while it waits for the agent
 * to catch up (send-batch.ts, `meanwhile`). Once the batch is out, both
 * trees' digests then find most of their lines hashed; a first sync of
 * 50,000 files spent ~0.1 s hashing them after its last frame.
 */
export class LineHashesAhead {
  private queue: Entry[] = [];
  private at = 0;
  /** The XOR of the line hashes of the entries sent so far, and how many: the digest of a tree of just those. */
  private hi = 0;
  private lo = 0;
  private count = 0;

  constructor(private readonly h64: (s: string) => string) {}

  sent(entry: Entry): void {
    this.queue.push(entry);
  }

  /** An entry sent whose line hash is known already (the addon hashed it as it packed the file). */
  sentHashed(hi: number, lo: number): void {
    this.hi ^= hi;
    this.lo ^= lo;
    this.count++;
  }

  step(): boolean {
    const end = Math.min(this.at + LINES_PER_STEP, this.queue.length);
    for (let i = this.at; i < end; i++) {
      const line = lineHashOf(this.h64, this.queue[i]);
      this.hi ^= line.hi;
      this.lo ^= line.lo;
    }
    this.count += end - this.at;
    this.at = end;
    if (end < this.queue.length) return true;
    this.queue = [];
    this.at = 0;
    return false;
  }

  /** The digest of all the entries sent, and how many were (an entry sent twice counts, and cancels out, twice). */
  digestOfSent(): { digest: string; count: number } {
    while (this.step());
    return { digest: hex(this.hi, this.lo), count: this.count };
  }
}

/**
 * Records the line hash of `entry` as read back from where it was saved (the
 * index, which is checksummed): a restart with nothing changed hashes no line.
 */
export function rememberLineHash(h64: (s: string) => string, entry: Entry, hi: number, lo: number): void {
  cacheFor(h64).set(entry, { hi: hi >>> 0, lo: lo >>> 0 });
}

/**
 * The digest of `current`, given `previous` and its digest: only entries of
 * `current` that are not the very objects `previous` holds (a scan keeps an
 * unchanged entry as it was) and entries `previous` has no more are hashed.
 * A restart that finds the tree as its index left it hashes no line; with
 * `kept`, the number of entries of `current` known to be objects of
 * `previous` (a scan counts them), it does not even look at them when that
 * is all of both.
 */
export function carryDigest(
  h64: (s: string) => string,
  previous: ReadonlyMap<string, Entry>,
  digest: string,
  current: ReadonlyMap<string, Entry>,
  kept = -1,
): string {
  if (kept === current.size && kept === previous.size) return digest;
  let hi = parseInt(digest.slice(0, 8), 16);
  let lo = parseInt(digest.slice(8, 16), 16);
  /** Paths of `current` that `previous` has too. */
  let shared = 0;
  for (const [path, entry] of current) {
    const old = previous.get(path);
    if (old !== undefined) shared++;
    if (old === entry) continue;
    if (old !== undefined) {
      const h = lineHashOf(h64, old);
      hi ^= h.hi;
      lo ^= h.lo;
    }
    const h = lineHashOf(h64, entry);
    hi ^= h.hi;
    lo ^= h.lo;
  }
  // Paths `previous` has and `current` does not leave the digest too.
  if (shared < previous.size) {
    for (const [path, old] of previous) {
      if (current.has(path)) continue;
      const h = lineHashOf(h64, old);
      hi ^= h.hi;
      lo ^= h.lo;
    }
  }
  return hex(hi, lo);
}

function hex(hi: number, lo: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

/**
 * A tree of entries with its manifest digest, so that comparing with the
 * agent costs O(changed paths), not O(tree). Pure: the 64-bit string hash is
 * passed in.
 *
 * Invariant: `digest` always equals manifestDigest(entries). An entry's line
 * is hashed when the digest is next read, not when it is set: a first sync
 * sets every file twice (unread, then as sent), and a line hashed at each
 * set was most of the cost of keeping the digest (measured: 210,000 line
 * hashes for a 50,000-file first sync where 54,000 are needed). Paths set
 * since the last read wait in `pending`; the rest are XORed into hi/lo.
 */
export class TreeState<E extends Entry = Entry> {
  private map = new Map<string, E>();
  /**
   * The trees that share `map` (clone() shares it, see there); a tree copies
   * the map before it changes it while another still holds it.
   */
  private sharers = { count: 1 };
  // The digest as two 32-bit halves: XORing numbers costs far less than
  // parsing and formatting hex at every change.
  private hi = 0;
  private lo = 0;
  /** Paths whose current entry is not in hi/lo yet. */
  private pending = new Set<string>();
  private fileCount = 0;
  private readonly cache: WeakMap<Entry, LineHash>;

  constructor(
    private readonly h64: (s: string) => string,
    entries: Iterable<E> = [],
  ) {
    this.cache = cacheFor(h64);
    for (const e of entries) this.set(e);
  }

  get digest(): string {
    for (const path of this.pending) this.xor(this.map.get(path)!);
    this.pending.clear();
    return hex(this.hi, this.lo);
  }

  /**
   * Fills an empty tree with `entries` whose digest is known (carryDigest):
   * nothing is hashed now, and an entry's line only when it is replaced or
   * deleted later. A Map given is taken over, not copied: the caller must
   * not change it afterwards.
   */
  seed(entries: Map<string, E> | Iterable<E>, digest: string): void {
    if (this.map.size > 0) throw new Error('TreeState.seed needs an empty tree');
    if (entries instanceof Map) {
      this.release();
      this.map = entries;
    } else {
      this.own();
      for (const e of entries) this.map.set(e.path, e);
    }
    for (const e of this.map.values()) if (e.type === EntryType.FILE) this.fileCount++;
    this.hi = parseInt(digest.slice(0, 8), 16) | 0;
    this.lo = parseInt(digest.slice(8, 16), 16) | 0;
  }

  private lineHash(entry: E): LineHash {
    return this.cache.get(entry) ?? lineHashOf(this.h64, entry);
  }

  private xor(entry: E): void {
    const h = this.lineHash(entry);
    this.hi ^= h.hi;
    this.lo ^= h.lo;
  }

  /** Takes `path`'s entry out of the digest (a no-op while it is pending). */
  private unlist(path: string, old: E): void {
    if (!this.pending.delete(path)) this.xor(old);
    if (old.type === EntryType.FILE) this.fileCount--;
  }

  get size(): number {
    return this.map.size;
  }

  /** Entries that are files. */
  get files(): number {
    return this.fileCount;
  }

  get(path: string): E | undefined {
    return this.map.get(path);
  }

  has(path: string): boolean {
    return this.map.has(path);
  }

  values(): IterableIterator<E> {
    return this.map.values();
  }

  /**
   * The map as it is, read-only. Read it, do not keep it: while a clone
   * shares the map, the tree's next change is made to a copy (see clone()).
   */
  get entries(): ReadonlyMap<string, E> {
    return this.map;
  }

  /** Makes `map` this tree's alone before a change: a copy while another tree shares it. */
  private own(): void {
    if (this.sharers.count === 1) return;
    this.release();
    this.map = new Map(this.map);
  }

  /** Leaves the map it shares (if it does) with a count of its own. */
  private release(): void {
    if (this.sharers.count === 1) return;
    this.sharers.count--;
    this.sharers = { count: 1 };
  }

  set(entry: E): void {
    this.own();
    const path = entry.path;
    const old = this.map.get(path);
    this.map.set(path, entry);
    if (entry.type === EntryType.FILE) this.fileCount++;
    if (old === undefined) {
      this.pending.add(path);
      return;
    }
    if (old.type === EntryType.FILE) this.fileCount--;
    // A path already pending stays so (a first sync sets every file twice: as scanned, then as sent).
    if (!this.pending.has(path)) {
      this.xor(old);
      this.pending.add(path);
    }
  }

  delete(path: string): E | undefined {
    const old = this.map.get(path);
    if (!old) return undefined;
    this.own();
    this.map.delete(path);
    this.unlist(path, old);
    return old;
  }

  /** Deletes `path` and, when it is a directory, everything under it. O(tree) only then. */
  deleteTree(path: string): E[] {
    const removed: E[] = [];
    const top = this.delete(path);
    if (top) removed.push(top);
    if (!top || top.type === 'dir') {
      const prefix = `${path}/`;
      for (const p of [...this.map.keys()]) {
        if (p.startsWith(prefix)) removed.push(this.delete(p)!);
      }
    }
    return removed;
  }

  /** Paths at or under `path` (the path itself first when present). */
  pathsUnder(path: string): string[] {
    const out: string[] = this.map.has(path) ? [path] : [];
    const prefix = `${path}/`;
    for (const p of this.map.keys()) if (p.startsWith(prefix)) out.push(p);
    return out;
  }

  /**
   * A tree with the same entries and digest. The map is shared, not copied,
   * until either tree changes (own()): a push whose digests match clones
   * 54,000 entries for the agent's picture and changes neither.
   */
  clone(): TreeState<E> {
    const copy = new TreeState<E>(this.h64);
    copy.map = this.map;
    copy.sharers = this.sharers;
    this.sharers.count++;
    copy.hi = this.hi;
    copy.lo = this.lo;
    copy.pending = new Set(this.pending);
    copy.fileCount = this.fileCount;
    return copy;
  }
}
