import { lstatSync, readFileSync } from 'node:fs';
import { RAW_STAT_FIELDS, rawIno, rawMode, rawMtimeMs, rawNlink, rawSize, rawStat, rawUsable, rawVanished, type StatLike } from '@skiff/agent/stat-dir';
import { ROOT_ID, SavedRule, WALKED_FLAG, type VerifySaved } from '@skiff/agent/verify-saved';
import { ListAhead } from './list-ahead.ts';
import { isDirAt, isFileAt, listDir, nativeStatDir, nativeStatDirs, nativeVerify, type Listing } from './listing.ts';
import { gitignoreDirs, indexRows } from './native-walk.ts';
import { resolve } from 'node:path';
import {
  checkChildPath,
  checkRelPath,
  EntryType,
  ErrorCode,
  loadHasher,
  SkiffError,
  type Hasher,
  type Problem,
} from '@skiff/protocol';
import { createIgnoreMatcher, GITIGNORE_FILE, readRootIgnore, type IgnoreMatcher } from '../ignore/index.ts';
import type { DirRules } from '../ignore/matcher.ts';
import { SLICE_MS, TimeSlicer } from '../util/time-slicer.ts';
import { UNHASHED, type IndexEntry, type ScanResult } from './entry.ts';
import { HASH_CHUNK_BYTES, hashFile, hashFileSync } from './hash-file.ts';
import { entryFromStat, ioProblem, notUtf8Problem, unchangedEntry } from './stat-entry.ts';
import { isVanished } from './vanished.ts';

/**
 * The walk makes its system calls synchronously, in slices of SLICE_MS
 * (util/time-slicer.ts), and yields to the event loop between slices.
 *
 * Why not one promise per lstat: on the reference tree (50,000 files, 4,000
 * directories, tmpfs, 2 cores) the walk took 2.2 s with fs.promises.lstat for
 * every entry, 0.42 s with callbacks batched per directory and 0.11 s
 * synchronous: the thread-pool round trip costs far more than an lstat of a
 * cached inode. Files up to one hash chunk are read the same way (a pooled
 * callback read of all 50,000 took 0.63 s, synchronous 0.26-0.44 s). Slicing
 * keeps the daemon answering its sockets and timers meanwhile: no stretch of
 * blocking work is longer than a slice plus one system call.
 */
export const SCAN_SLICE_MS = SLICE_MS;

/**
 * Files larger than one hash chunk are read asynchronously instead, this many
 * at a time: a blocking read of several MiB would outlast a slice, and for
 * them the asynchronous cost per byte is negligible.
 */
export const LARGE_FILE_CONCURRENCY = 4;

/** At most this many entries wait in a directory's walk before they are handed to onEntries. */
const ENTRIES_PER_HANDOVER = 512;

export interface ScanOptions {
  /**
   * Rules to apply. The scan reads the root ignore file and every walked
   * directory's `.gitignore` into it (adding, replacing or dropping layers),
   * so after a scan it reflects the ignore files on disk. Without one, a
   * matcher is built from those same files.
   */
  matcher?: IgnoreMatcher;
  /** The last index: a file with the same size, mtime and inode keeps its hash unread. */
  previous?: ReadonlyMap<string, IndexEntry>;
  /** The xxhash64 implementation; loaded once per process when left out. */
  hasher?: Hasher;
  /**
   * Leave files whose hash cannot be reused unread, with hash UNHASHED. For a
   * first sync into an empty agent every file is read to be sent anyway, and
   * the sender hashes what it reads: hashing here would read it all twice.
   * hashDeferred() fills them in when they turn out to be needed.
   */
  deferHash?: boolean;
  /**
   * Told, after each directory, the entries that directory added to the
   * result, in walk order: a directory's own entry always comes before
   * what is under it. A first sync sends them while the walk goes on
   * (sync/first-sync.ts). Only with deferHash (a hashing scan would hand over
   * entries whose large files are still being read). Returning false stops
   * the handing over: nobody wants the rest (an agent that holds files
   * waits for the whole scan).
   */
  onEntries?: (added: IndexEntry[]) => boolean | void;
  /**
   * Whether directories may be listed ahead on the pool now (list-ahead.ts);
   * asked before each directory until it says yes, listed on this thread
   * until then. A push whose agent is still starting beside it on the same
   * cores (a local or container agent verifying its root) says no until it
   * is connected: the pool's listing only took CPU from the agent, which is
   * what the push waits for. Without it the walk lists ahead from the start.
   */
  listAhead?: () => boolean;
  /**
   * Walk what `previous` describes in one call into the addon, which lists
   * every directory of the index and matches each entry's lstat against its
   * row, handing back only what did not match (runNative). On 54,000
   * entries the call takes ~72 ms (~55 of them system calls) where this
   * walk's listings took ~75 ms and its strings, lookups and matching ~75
   * more; a one-shot push beside a starting agent, whose CPU it shares, went
   * from ~355 to ~305 ms. But it is one call, not slices: for a push of its
   * own, never for the daemon, whose sockets must be answered meanwhile.
   */
  nativeWalk?: boolean;
}

/**
 * Walks `root` and returns the entries that are not ignored.
 *
 * - An ignored path is never stat'ed, and an ignored directory never listed.
 * - Every other path is lstat'ed (symlinks are never followed). Files keep
 *   their previous hash when size, mtime and inode match `previous`, else
 *   their content is hashed. The mtime recorded is the one lstat saw before
 *   the read, so a file written during the scan differs from its record on
 *   the next scan and is hashed again; the size recorded is that of the bytes
 *   hashed, so size and hash always describe the same content.
 * - A symlink whose target stays inside the tree is an entry (dangling is
 *   fine); one that leaves it is a SKIFF_E_SYMLINK_ESCAPE problem. A name the
 *   wire refuses is a problem with the path rule's code, a socket, FIFO or
 *   device one with SKIFF_E_UNSUPPORTED_FILE, an unreadable directory or
 *   file one with SKIFF_E_IO. A path that vanishes mid-scan is left out.
 *
 * Rejects (SKIFF_E_IO) only when `root` itself, its root ignore file or its
 * own `.gitignore` cannot be read. Does not save the index: the caller does,
 * once the agent has the tree.
 */
export async function scanTree(root: string, options: ScanOptions = {}): Promise<ScanResult> {
  const absRoot = resolve(root);
  const [hasher, rootIgnore] = await Promise.all([options.hasher ?? loadHasher(), readRootIgnore(absRoot)]);
  const matcher = options.matcher ?? createIgnoreMatcher();
  matcher.setRootIgnore(rootIgnore);
  if (options.onEntries && options.deferHash !== true) throw new Error('scanTree: onEntries needs deferHash');
  const walk = new Walk(absRoot, matcher, hasher, options.previous, options.deferHash === true, options.onEntries, options.listAhead, options.nativeWalk === true);
  try {
    await walk.run(walk.listRoot());
  } catch (err) {
    await walk.settle();
    throw new SkiffError(ErrorCode.IO, `cannot scan ${absRoot}`, { cause: err });
  }
  return {
    entries: walk.entries,
    problems: walk.problems,
    hashed: walk.hashed,
    reused: walk.reused,
    kept: walk.kept,
    deferred: walk.deferred,
    bytesHashed: walk.bytesHashed,
    walkedNatively: walk.walkedNatively,
    matcher,
  };
}

class Walk {
  readonly entries = new Map<string, IndexEntry>();
  /** The entries the directory being visited added, to hand over (onEntries); null when nobody takes them. */
  private added: IndexEntry[] | null = null;
  readonly problems: Problem[] = [];
  hashed = 0;
  reused = 0;
  kept = 0;
  deferred = 0;
  bytesHashed = 0;
  walkedNatively = false;

  private readonly pending: string[] = [];
  private readonly buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  private readonly largeBuffers: Buffer[] = [];
  private readonly largeInFlight = new Set<Promise<void>>();
  private readonly slicer = new TimeSlicer(SCAN_SLICE_MS);

  private readonly statDir = nativeStatDir();
  private readonly statDirs = nativeStatDirs();

  constructor(
    private readonly root: string,
    private readonly matcher: IgnoreMatcher,
    private readonly hasher: Hasher,
    private readonly previous: ReadonlyMap<string, IndexEntry> | undefined,
    private readonly deferHash: boolean,
    private onEntries?: (added: IndexEntry[]) => boolean | void,
    private readonly listAhead: () => boolean = () => true,
    private readonly nativeWalk = false,
  ) {}

  /** The root's listing; throws when it cannot be read. */
  listRoot(): Listing {
    return listDir(this.root, this.statDir);
  }

  /** Walks from the root's listing; rejects only if the root's rules cannot be read. */
  async run(rootListing: Listing): Promise<void> {
    if (!this.takeRules('', rootListing)) {
      const unreadable = this.problems.pop()!;
      throw new SkiffError(ErrorCode.IO, unreadable.message, { path: unreadable.path });
    }
    const verify = this.nativeWalk && this.previous !== undefined && this.previous.size > 0 && this.statDir !== null ? nativeVerify() : null;
    this.walkedNatively = verify !== null && (await this.runNative(verify, this.previous!));
    if (!this.walkedNatively) await this.visit('', rootListing);
    if (this.statDirs !== null) {
      while (this.pending.length > 0 && !this.listAhead()) await this.visitNext();
      await this.walkAhead(new ListAhead(this.statDirs, (dir) => this.abs(dir)));
    }
    while (this.pending.length > 0) await this.visitNext();
    await this.settle();
  }

  /** Lists the next pending directory on this thread and visits it. */
  private async visitNext(): Promise<void> {
    const dir = this.pending.pop()!;
    const listing = this.list(dir);
    if (listing && this.takeRules(dir, listing)) await this.visit(dir, listing);
  }

  /** The walk with directories listed ahead on the pool (list-ahead.ts). */
  private async walkAhead(ahead: ListAhead): Promise<void> {
    ahead.pump(this.pending);
    for (let listed = await ahead.next(); listed !== undefined; listed = await ahead.next()) {
      const { dir, result } = listed;
      // Not listed on the pool: listed again here, which reports why (list()).
      const listing = result instanceof Error ? this.list(dir) : result === null ? null : { names: result.names, raw: result };
      if (listing && this.takeRules(dir, listing)) await this.visit(dir, listing);
      ahead.pump(this.pending);
    }
  }

  /** Waits for the large files still being hashed. */
  async settle(): Promise<void> {
    while (this.largeInFlight.size > 0) await Promise.race(this.largeInFlight);
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  private list(dir: string): Listing | null {
    try {
      return listDir(this.abs(dir), this.statDir);
    } catch (err) {
      if (!isVanished(err)) this.problems.push(ioProblem(dir, 'list directory', err));
      return null;
    }
  }

  /**
   * Brings the matcher's rules for `dir` up to date with its `.gitignore`
   * (git reads only a regular file there, never through a symlink). Returns
   * false when the file exists but cannot be read: the directory's contents
   * are then left out, since what they must not include is unknown.
   */
  private takeRules(dir: string, listing: Listing): boolean {
    const at = listing.names.indexOf(GITIGNORE_FILE);
    return this.applyRules(dir, at >= 0 && isFileAt(listing, at));
  }

  /** takeRules, told whether `dir` holds a regular `.gitignore`. */
  private applyRules(dir: string, hasFile: boolean): boolean {
    if (!hasFile) {
      this.matcher.removeGitignore(dir);
      return true;
    }
    const rel = dir === '' ? GITIGNORE_FILE : `${dir}/${GITIGNORE_FILE}`;
    try {
      this.matcher.addGitignore(dir, readFileSync(this.abs(rel), 'utf8'));
    } catch (err) {
      if (isVanished(err)) {
        this.matcher.removeGitignore(dir);
        return true;
      }
      this.problems.push(ioProblem(rel, 'read', err));
      return false;
    }
    return true;
  }

  private async visit(dir: string, listing: Listing): Promise<void> {
    this.added = this.onEntries ? [] : null;
    const { names } = listing;
    const rules = this.matcher.inDir(dir);
    for (let i = 0; i < names.length; i++) {
      if (this.slicer.due()) await this.slicer.yield();
      const name = names[i];
      const large = this.visitEntry(dir, name, dir === '' ? name : `${dir}/${name}`, listing, i, rules, false);
      if (large !== null) await this.hashLarge(large);
    }
    this.handOver();
  }

  /**
   * Takes entry `i` of a listing of `dir`: `name`, at `rel`. `walked`: a
   * directory the native walk went into already (not to be queued). Returns
   * a large file to hash before the next entry (the caller awaits it), else
   * null: no promise per entry where nothing waits.
   */
  private visitEntry(dir: string, name: string, rel: string, listing: Listing, i: number, rules: DirRules, walked: boolean): IndexEntry | null {
    const { raw } = listing;
    if (raw !== null && rawVanished(raw, i)) return null;
    const listedAsDir = isDirAt(listing, i);
    if (rules.isIgnored(name, rel, listedAsDir)) return null;
    const pathError = dir === '' ? checkRelPath(rel) : checkChildPath(rel, name);
    if (pathError) {
      this.problems.push({ path: rel, code: pathError.code, message: pathError.message });
      return null;
    }
    const previous = this.previous?.get(rel);
    const usable = raw !== null && rawUsable(raw, i);
    // The common case of a restart: the entry is as the index left it, and no object is made to find out.
    if (usable && unchangedEntry(previous, rawMode(raw, i), rawSize(raw, i), rawMtimeMs(raw, i), rawIno(raw, i), rawNlink(raw, i))) {
      this.kept++;
      this.take(previous!, listedAsDir && !walked);
      return null;
    }
    let st: StatLike | undefined;
    if (usable) st = rawStat(raw, i);
    else {
      try {
        st = lstatSync(this.abs(rel), { throwIfNoEntry: false });
      } catch (err) {
        if (!isVanished(err)) this.problems.push(ioProblem(rel, 'stat', err));
        return null;
      }
    }
    if (st === undefined) {
      const bad = notUtf8Problem(this.root, rel);
      if (bad) this.problems.push(bad);
      return null;
    }
    // Replaced by another type since the listing: the rules may differ.
    if (st.isDirectory() !== listedAsDir && this.matcher.isIgnored(rel, st.isDirectory())) return null;

    const verdict = entryFromStat(this.abs(rel), rel, st, previous);
    if (verdict.kind === 'problem') this.problems.push(verdict.problem);
    else if (verdict.kind === 'entry') {
      const { entry } = verdict;
      if (entry === previous) this.kept++;
      if (!verdict.needsHash) this.take(entry, st.isDirectory() && !walked);
      else if (this.deferHash) {
        this.deferred++;
        this.take(entry, false);
      } else if (st.size <= HASH_CHUNK_BYTES) this.hashSmall(entry);
      else return entry;
    }
    return null;
  }

  /**
   * The walk of a tree the index describes, by the addon (ScanOptions.
   * nativeWalk): it lists every directory of the index and matches each
   * entry's lstat against its row (unchangedEntry's rule), in one call. Here
   * the result is gone through in its walk order with the rules in force:
   * an unchanged entry is kept unless it is ignored now, anything else is
   * taken as the JavaScript walk takes it, and a directory the index did not
   * have is walked as before. Returns false when the addon declined (walk
   * in JavaScript then).
   */
  private async runNative(verify: VerifySaved, previous: ReadonlyMap<string, IndexEntry>): Promise<boolean> {
    const rows = [...previous.values()];
    const held = new Uint8Array(rows.length);
    const { paths, numbers } = indexRows(rows);
    const walked = verify(this.root, paths, numbers, held, SavedRule.INDEX);
    if (walked === null) return false;
    const { order, unmatched, dirs } = walked;
    const listing: Listing = { names: unmatched.names, raw: unmatched };
    const rulesFiles = gitignoreDirs(rows, order, unmatched);
    /** Directories whose contents are left out: ignored now, unreadable rules, or no longer taken as directories. */
    const closed = new Set<string>();
    this.added = this.onEntries ? [] : null;
    for (let d = 0; d < dirs.length; d += 2) {
      const id = dirs[d + 1];
      const dir = id === ROOT_ID ? '' : id >= 0 ? rows[id].path : unmatched.names[-id - 1];
      const open = !closed.has(dir);
      const rules = this.matcher.inDir(dir);
      const skip = dir === '' ? 0 : dir.length + 1;
      for (let j = dirs[d], end = d + 2 < dirs.length ? dirs[d + 2] : order.length; j < end; j++) {
        // The clock is read every 256 entries, not each: most take well under a microsecond here.
        if ((j & 255) === 0 && this.slicer.due()) await this.slicer.yield();
        const at = order[j];
        if (at >= 0) {
          const entry = rows[at];
          const isDir = entry.type === EntryType.DIR;
          if (!open || rules.isIgnored(entry.path.slice(skip), entry.path, isDir)) {
            if (isDir) closed.add(entry.path);
            continue;
          }
          this.kept++;
          this.take(entry, false);
          // Its rules before its entries, which come after it in walk order.
          if (isDir && !this.applyRules(entry.path, rulesFiles.has(entry.path))) closed.add(entry.path);
          continue;
        }
        const k = -at - 1;
        const rel = unmatched.names[k];
        const intoDir = (unmatched.stats[k * RAW_STAT_FIELDS + 9] & WALKED_FLAG) !== 0;
        // The flag said where the walk went; what is left is the listing's own (usable).
        if (intoDir) unmatched.stats[k * RAW_STAT_FIELDS + 9] -= WALKED_FLAG;
        if (open) {
          const large = this.visitEntry(dir, rel.slice(skip), rel, listing, k, rules, intoDir);
          if (large !== null) await this.hashLarge(large);
        }
        if (intoDir && (!open || this.entries.get(rel)?.type !== EntryType.DIR || !this.applyRules(rel, rulesFiles.has(rel)))) closed.add(rel);
      }
    }
    this.handOver();
    // Not listed by the addon: listed again on the way below, which reports why.
    for (const dir of walked.failed) if (dir === '' || (!closed.has(dir) && this.entries.get(dir)?.type === EntryType.DIR)) this.pending.push(dir);
    return true;
  }

  /**
   * Records an entry whose hash is known (or deferred), queues a directory
   * for the walk, and hands a huge directory's entries over in parts, so the
   * sender is never idle for long.
   */
  private take(entry: IndexEntry, isDir: boolean): void {
    if (entry.hash !== UNHASHED) this.reused++; // a file whose hash is known (a directory or symlink has none)
    this.entries.set(entry.path, entry);
    if (isDir) this.pending.push(entry.path);
    if (this.added === null) return;
    this.added.push(entry);
    if (this.added.length >= ENTRIES_PER_HANDOVER) this.handOver();
  }

  /** Hands what was added over (the consumer keeps it), and starts a new list; none once nobody wants more. */
  private handOver(): void {
    if (this.added === null || this.added.length === 0) return;
    if (this.onEntries?.(this.added) !== false) {
      this.added = [];
      return;
    }
    this.onEntries = undefined;
    this.added = null;
  }

  /** Hashes a file of at most one chunk within the slice. */
  private hashSmall(entry: IndexEntry): void {
    try {
      const content = hashFileSync(this.abs(entry.path), this.hasher, this.buffer, entry.size);
      this.recordHashed(entry, content.hash, content.size);
    } catch (err) {
      if (!isVanished(err)) this.problems.push(ioProblem(entry.path, 'read', err));
    }
  }

  /** Starts hashing a large file once a slot is free; the walk goes on meanwhile. */
  private async hashLarge(entry: IndexEntry): Promise<void> {
    while (this.largeInFlight.size >= LARGE_FILE_CONCURRENCY) await Promise.race(this.largeInFlight);
    const buffer = this.largeBuffers.pop() ?? Buffer.allocUnsafe(HASH_CHUNK_BYTES);
    const job = hashFile(this.abs(entry.path), this.hasher, { buffer, expectedSize: entry.size })
      .then((content) => this.recordHashed(entry, content.hash, content.size))
      .catch((err: unknown) => {
        // hashFile wraps the errno error as SKIFF_E_IO with it as cause.
        const cause = err instanceof SkiffError ? err.cause : err;
        if (!isVanished(cause)) this.problems.push(ioProblem(entry.path, 'read', cause));
      })
      .finally(() => {
        this.largeBuffers.push(buffer);
        this.largeInFlight.delete(job);
      });
    this.largeInFlight.add(job);
  }

  /**
   * The size recorded is that of the bytes hashed, so size and hash always
   * describe the same content; the mtime stays the one lstat saw before the
   * read, so a file written meanwhile differs from its record next time.
   */
  private recordHashed(entry: IndexEntry, hash: string, size: number): void {
    this.hashed++;
    this.bytesHashed += size;
    this.entries.set(entry.path, { ...entry, hash, size });
  }
}
