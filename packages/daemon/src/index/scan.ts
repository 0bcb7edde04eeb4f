import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { loadStatDir, type StatDir, type StatLike } from '@skiff/agent/stat-dir';
import { peerCredAddonCandidates } from '../control/peer-cred.ts';
import { resolve } from 'node:path';
import {
  checkRelPath,
  ErrorCode,
  loadHasher,
  MAX_PATH_BYTES,
  SkiffError,
  type Hasher,
  type Problem,
} from '@skiff/protocol';
import { createIgnoreMatcher, GITIGNORE_FILE, readRootIgnore, type IgnoreMatcher } from '../ignore/index.ts';
import { SLICE_MS, TimeSlicer } from '../util/time-slicer.ts';
import { type IndexEntry, type ScanResult } from './entry.ts';
import { HASH_CHUNK_BYTES, hashFile, hashFileSync } from './hash-file.ts';
import { entryFromStat, ioProblem, notUtf8Problem } from './stat-entry.ts';
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
   * (sync/push.ts). Only with deferHash (a hashing scan would hand over
   * entries whose large files are still being read). Returning false stops
   * the handing over: nobody wants the rest (an agent that holds files
   * waits for the whole scan).
   */
  onEntries?: (added: IndexEntry[]) => boolean | void;
}

/** A path of at most this many UTF-16 code units is within MAX_PATH_BYTES of UTF-8 (3 bytes per unit at most). */
const SURELY_SHORT_PATH = Math.floor(MAX_PATH_BYTES / 3);

/**
 * checkRelPath for `rel`, the path of `name` in a directory whose own path
 * already passed it, at the cost of checking the name alone. The full path
 * is then valid exactly when the name is a valid one-segment path and the
 * whole is short enough; when either is in doubt the full check decides (it
 * also accepts names such as "c:x" that are refused only at the top).
 */
function checkChildPath(rel: string, name: string): SkiffError | null {
  if (rel.length <= SURELY_SHORT_PATH && checkRelPath(name) === null) return null;
  return checkRelPath(rel);
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
  const walk = new Walk(absRoot, matcher, hasher, options.previous, options.deferHash === true, options.onEntries);
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
    matcher,
  };
}

/** One entry of a directory listing, with its lstat when the native lister gave it. */
interface Listed {
  name: string;
  isDir: boolean;
  isFile: boolean;
  /** null: not stat'ed yet (Node's readdir, or a name the native lister could not vouch for). */
  stat: StatLike | null;
}

let native: StatDir | null | undefined;

/** The native lister of the agent's addon, loaded once; null without it. */
function nativeStatDir(): StatDir | null {
  // Loaded once: null (no addon) is an answer too, not a reason to look again.
  if (native === undefined) native = loadStatDir(peerCredAddonCandidates());
  return native;
}

/**
 * Lists a directory, with every entry's lstat from the native addon when it
 * is there (index/scan.ts walks 54,000 entries in about 80 ms of system
 * calls that way, 150 ms and a Stats object per entry through Node's calls).
 * Throws as readdirSync does; a directory gone meanwhile is an empty one
 * for the native lister, whose caller finds out from its parent's events.
 */
function listDir(abs: string, statDir: StatDir | null): Listed[] {
  if (statDir !== null) {
    try {
      const listed = statDir(abs);
      if (listed !== null) return listed.map(({ name, stat }) => ({ name, stat, isDir: stat?.isDirectory() ?? false, isFile: stat?.isFile() ?? false }));
    } catch {
      // Unreadable: Node's call below says why, with the errno the caller reports.
    }
  }
  return readdirSync(abs, { withFileTypes: true }).map((d) => ({ name: d.name, isDir: d.isDirectory(), isFile: d.isFile(), stat: null }));
}

class Walk {
  readonly entries = new Map<string, IndexEntry>();
  readonly problems: Problem[] = [];
  hashed = 0;
  reused = 0;
  kept = 0;
  deferred = 0;
  bytesHashed = 0;

  private readonly pending: string[] = [];
  private readonly buffer = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  private readonly largeBuffers: Buffer[] = [];
  private readonly largeInFlight = new Set<Promise<void>>();
  private readonly slicer = new TimeSlicer(SCAN_SLICE_MS);

  private readonly statDir = nativeStatDir();

  constructor(
    private readonly root: string,
    private readonly matcher: IgnoreMatcher,
    private readonly hasher: Hasher,
    private readonly previous: ReadonlyMap<string, IndexEntry> | undefined,
    private readonly deferHash: boolean,
    private onEntries?: (added: IndexEntry[]) => boolean | void,
  ) {}

  /** The root's listing; throws when it cannot be read. */
  listRoot(): Listed[] {
    return listDir(this.root, this.statDir);
  }

  /** Walks from the root's listing; rejects only if the root's rules cannot be read. */
  async run(rootDirents: Listed[]): Promise<void> {
    if (!this.takeRules('', rootDirents)) {
      const unreadable = this.problems.pop()!;
      throw new SkiffError(ErrorCode.IO, unreadable.message, { path: unreadable.path });
    }
    await this.visit('', rootDirents);
    while (this.pending.length > 0) {
      const dir = this.pending.pop()!;
      const dirents = this.list(dir);
      if (dirents && this.takeRules(dir, dirents)) await this.visit(dir, dirents);
    }
    await this.settle();
  }

  /** Waits for the large files still being hashed. */
  async settle(): Promise<void> {
    while (this.largeInFlight.size > 0) await Promise.race(this.largeInFlight);
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  private list(dir: string): Listed[] | null {
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
  private takeRules(dir: string, dirents: Listed[]): boolean {
    const file = dirents.find((d) => d.name === GITIGNORE_FILE);
    if (!file || !file.isFile) {
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

  private async visit(dir: string, dirents: Listed[]): Promise<void> {
    let added: IndexEntry[] | null = this.onEntries ? [] : null;
    for (const dirent of dirents) {
      const rel = dir === '' ? dirent.name : `${dir}/${dirent.name}`;
      const listedAsDir = dirent.isDir;
      if (this.matcher.isIgnored(rel, listedAsDir)) continue;
      const pathError = dir === '' ? checkRelPath(rel) : checkChildPath(rel, dirent.name);
      if (pathError) {
        this.problems.push({ path: rel, code: pathError.code, message: pathError.message });
        continue;
      }
      let st: StatLike | undefined = dirent.stat ?? undefined;
      if (st === undefined) {
        try {
          st = lstatSync(this.abs(rel), { throwIfNoEntry: false });
        } catch (err) {
          if (!isVanished(err)) this.problems.push(ioProblem(rel, 'stat', err));
          continue;
        }
      }
      if (st === undefined) {
        const bad = notUtf8Problem(this.root, rel);
        if (bad) this.problems.push(bad);
        continue;
      }
      // Replaced by another type since the listing: the rules may differ.
      if (st.isDirectory() !== listedAsDir && this.matcher.isIgnored(rel, st.isDirectory())) continue;

      const previous = this.previous?.get(rel);
      const verdict = entryFromStat(this.abs(rel), rel, st, previous);
      if (verdict.kind === 'problem') this.problems.push(verdict.problem);
      else if (verdict.kind === 'entry') {
        const { entry } = verdict;
        if (entry === previous) this.kept++;
        if (!verdict.needsHash) {
          if (entry.hash !== '') this.reused++;
          this.entries.set(rel, entry);
          added?.push(entry);
          if (st.isDirectory()) this.pending.push(rel);
        } else if (this.deferHash) {
          this.entries.set(rel, entry);
          added?.push(entry);
          this.deferred++;
        }
        else if (st.size <= HASH_CHUNK_BYTES) this.hashSmall(entry);
        else await this.hashLarge(entry);
      }
      // A huge directory is handed over in parts, so the sender is never idle for long.
      if (added !== null && added.length >= ENTRIES_PER_HANDOVER) added = this.handOver(added.splice(0));
      await this.slicer.maybeYield();
    }
    if (added !== null && added.length > 0) this.handOver(added);
  }

  /** Hands `added` over; returns a new list to collect into, or null once nobody wants more. */
  private handOver(added: IndexEntry[]): IndexEntry[] | null {
    if (this.onEntries?.(added) !== false) return [];
    this.onEntries = undefined;
    return null;
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
