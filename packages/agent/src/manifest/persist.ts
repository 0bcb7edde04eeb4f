import { closeSync, fsyncSync, lstatSync, openSync, readFileSync, readlinkSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EntryType, QuietSave, type Entry, type Hasher } from '@skiff/protocol';
import { dirEntry, PERMISSION_BITS } from './entries.ts';
import { HASH_CHUNK_BYTES, hashFile, type ScanResult } from './scan.ts';
import type { Manifest } from './manifest.ts';
import { decodeStatCache, encodeStatCache, RACY_MS, SavedManifest, sameStat, settled, type CachedEntry, type RootId, type StatKey } from './stat-cache.ts';

/**
 * The manifest is saved once no batch has committed for this long: a save
 * costs O(tree) on the event loop (about 50 ms for 54,000 entries, and an
 * lstat per path a first sync wrote), and a save that lands between two
 * saves of a user's delays the second by as much.
 */
export const MANIFEST_SAVE_DELAY_MS = 1_000;
/** ...but at the latest this long after the first batch it does not record yet, however busy the root. */
export const MANIFEST_SAVE_MAX_DELAY_MS = 30_000;
/** Pending paths a timed save lstats in one turn of the event loop before it lets a batch in (about 15 ms). */
export const VOUCH_SLICE_PATHS = 4_000;

export type { RootId };

/**
 * Where the manifest of `root` is saved: beside the root, never inside it,
 * so that nothing the app watches changes when it is written and no sync
 * can list, send or delete it (`/srv/src` → `/srv/.src.skiff-manifest`).
 * null for a root with no parent (`/`).
 */
export function manifestFileFor(root: string): string | null {
  const name = basename(root);
  if (name === '') return null;
  return join(dirname(root), `.${name}.skiff-manifest`);
}

export function rootIdOf(root: string): RootId {
  const st = lstatSync(root);
  return { path: root, dev: st.dev, ino: st.ino };
}

/** What was saved last time; empty when nothing was, or when it is not a file to trust (logged). */
export function loadSavedManifest(file: string, root: RootId, h64Bytes: (b: Uint8Array) => string, log: (line: string) => void): SavedManifest {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return SavedManifest.EMPTY;
  }
  const decoded = decodeStatCache(data, root, h64Bytes);
  if ('rejected' in decoded) {
    log(`ignoring the saved manifest ${file}: ${decoded.rejected}; the root is hashed again`);
    return SavedManifest.EMPTY;
  }
  return decoded.saved;
}

/**
 * Whether the saved file does not say all that the start-up scan vouches
 * for: something was hashed, a saved row no longer matched, or an entry was
 * made from its lstat that a row could hold (a directory of an older file,
 * which saved none, or one changed since).
 */
export function savedOutOfDate(scan: ScanResult, saved: SavedManifest): boolean {
  return scan.hashed > 0 || scan.matched !== saved.rows || scan.matched !== scan.manifest.size;
}

/** Bytes a timed save may read to vouch for what batches wrote; the rest waits for the next save. */
export const VERIFY_BUDGET_BYTES = 32 * 1024 * 1024;

/**
 * Keeps the saved manifest (stat-cache.ts) in step with the agent's root.
 *
 * `known` holds, per file or symlink, an lstat that vouches for the entry
 * the manifest has for it. It is seeded by the startup scan; every path a
 * batch touches loses its witness (the agent wrote it, or removed it) and
 * waits in `pending` until a save gives it a new one:
 *  - a file of a staged batch (a first sync, apply/stage.ts) was written
 *    where nobody else can write and moved into the root at the commit, so
 *    an lstat whose ctime predates the commit by more than RACY_MS can only
 *    be of the agent's own write: the lstat alone vouches;
 *  - anything else went into the root by a rename, where another process
 *    may have written it in the same clock tick, which no lstat can tell
 *    apart. It is read back, once its last change is settled: the hash must
 *    be the manifest's, and an lstat before and after the read the same.
 *    A timed save reads at most VERIFY_BUDGET_BYTES (the rest waits for the
 *    next); the save at shutdown reads nothing. What is not vouched for is
 *    left out of the file and hashed at the next start.
 *
 * Saving never throws: a parent directory the agent may not write to means
 * every start hashes the root again, as it did before there was a file.
 */
export class ManifestPersistence {
  private known = new Map<string, StatKey>();
  /** The saved manifest whose rows the manifest holds unchanged (Manifest.rowOf): their lstat is its. */
  private saved: SavedManifest = SavedManifest.EMPTY;
  /** Paths batches wrote since their last witness, with the commit time of a staged batch (else null). */
  private readonly pending = new Map<string, number | null>();
  private dirty = false;
  private readonly timed = new QuietSave(() => void this.saveLater(), MANIFEST_SAVE_DELAY_MS, MANIFEST_SAVE_MAX_DELAY_MS);
  /** A timed save between its slices (see saveLater). */
  private saving = false;
  private failedOnce = false;
  private readonly buf = Buffer.allocUnsafe(HASH_CHUNK_BYTES);

  constructor(
    private readonly file: string,
    private readonly root: RootId,
    private readonly manifest: Manifest,
    private readonly hasher: Hasher,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * What the startup scan could vouch for (taken over, not copied), with
   * the saved manifest whose rows it names; `changed` when the scan learnt
   * anything the file does not say.
   */
  seed(known: Map<string, StatKey>, saved: SavedManifest, changed: boolean): void {
    this.known = known;
    this.saved = saved;
    if (changed) this.markDirty();
  }

  /** A batch committed: its paths lose their witness; `stagedAt` is the commit time of a staged batch. */
  committed(paths: readonly string[], stagedAt: number | null): void {
    for (const path of paths) {
      this.known.delete(path);
      this.pending.set(path, stagedAt);
    }
    if (paths.length > 0) this.markDirty();
  }

  /**
   * Saves now if anything changed since the last save. At shutdown it reads
   * nothing (`readBudget` 0): what needs reading to be vouched for is
   * hashed by the next start instead.
   */
  flush(readBudget = 0): void {
    this.timed.cancel();
    if (!this.dirty) return;
    this.vouch([...this.pending.keys()], { left: readBudget });
    this.save();
  }

  private markDirty(): void {
    this.dirty = true;
    this.timed.touch();
  }

  /**
   * A timed save: the pending paths are looked at a slice at a time, with a
   * turn of the event loop between slices, so that a batch arriving meanwhile
   * is applied at once rather than after 54,000 lstats; then the file is
   * written in one go. A batch committed between slices marks the manifest
   * dirty again, and its paths are looked at by the next save.
   */
  private async saveLater(): Promise<void> {
    if (this.saving) return;
    this.saving = true;
    try {
      const paths = [...this.pending.keys()];
      const budget = { left: VERIFY_BUDGET_BYTES };
      for (let at = 0; at < paths.length; at += VOUCH_SLICE_PATHS) {
        if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        this.vouch(paths.slice(at, at + VOUCH_SLICE_PATHS), budget);
      }
      if (this.dirty) this.save();
      // What the budget left unread, or was too recent to tell, is read by the next save.
      if (this.pending.size > 0 && this.witnessable()) this.markDirty();
    } finally {
      this.saving = false;
    }
  }

  /** Writes what is vouched for now; `vouch` ran first. */
  private save(): void {
    this.dirty = false;
    const rows: CachedEntry[] = [];
    for (const entry of this.manifest.entries()) {
      const row = this.manifest.rowOf(entry.path);
      const line = this.manifest.lineHash(entry.path);
      if (line === undefined) continue;
      if (entry.type === EntryType.DIR) {
        const dir = row === undefined ? this.dirAsOnDisk(entry) : { entry, stat: this.saved.statAt(row) };
        if (dir !== null) rows.push({ ...dir, hi: line.hi, lo: line.lo });
        continue;
      }
      const stat = this.known.get(entry.path) ?? (row === undefined ? undefined : this.saved.statAt(row));
      if (stat !== undefined) rows.push({ entry, stat, hi: line.hi, lo: line.lo });
    }
    const temp = `${this.file}.${process.pid}.tmp`;
    try {
      const fd = openSync(temp, 'w', 0o600);
      try {
        writeSync(fd, encodeStatCache(this.root, rows, this.hasher.h64Bytes));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, this.file);
    } catch (err) {
      try {
        unlinkSync(temp);
      } catch {
        // Never created, or already gone.
      }
      if (!this.failedOnce) this.log(`cannot save the manifest to ${this.file} (${(err as Error).message}); each start will hash the root again`);
      this.failedOnce = true;
    }
  }

  /**
   * A directory's row: its entry as a start's scan would make it from the
   * lstat of now (the manifest may hold the mtime the daemon sent, which
   * its entries' writes have moved since), with that lstat as its witness;
   * null when it is gone, not a directory, or of other permissions than
   * the manifest holds (the line hash saved would not be its line's).
   */
  private dirAsOnDisk(entry: Entry): Omit<CachedEntry, 'hi' | 'lo'> | null {
    const st = lstatSync(`${this.root.path}/${entry.path}`, { throwIfNoEntry: false });
    if (st === undefined || !st.isDirectory() || (st.mode & PERMISSION_BITS) !== entry.mode) return null;
    return { entry: dirEntry(entry.path, st.mode, Math.floor(st.mtimeMs)), stat: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode } };
  }

  /** Whether some pending path is a file or symlink that a later save might vouch for. */
  private witnessable(): boolean {
    for (const path of this.pending.keys()) {
      const type = this.manifest.get(path)?.type;
      if (type === EntryType.FILE || type === EntryType.SYMLINK) return true;
    }
    return false;
  }

  /** Gives `paths` that are still pending a witness where it can be proved (see above), reading at most `budget.left` bytes. */
  private vouch(paths: readonly string[], budget: { left: number }): void {
    for (const path of paths) {
      const stagedAt = this.pending.get(path);
      if (stagedAt === undefined) continue; // vouched for, or removed, since the save began
      const entry = this.manifest.get(path);
      if (entry === undefined || entry.type === EntryType.DIR) {
        this.pending.delete(path);
        continue;
      }
      const abs = `${this.root.path}/${path}`;
      const now = Date.now();
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (st === undefined || st.isFile() !== (entry.type === EntryType.FILE)) {
        this.pending.delete(path); // gone or replaced behind our back: the next start finds out
        continue;
      }
      const stat: StatKey = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode };
      if (entry.type === EntryType.FILE && stagedAt !== null && st.size === entry.size && st.ctimeMs < stagedAt - RACY_MS) {
        this.known.set(path, stat);
        this.pending.delete(path);
        continue;
      }
      // Too recent to tell from a later same-tick write: a later save looks again.
      if (!settled(st.ctimeMs, now)) continue;
      if (entry.type === EntryType.FILE && st.size > budget.left) continue;
      if (entry.type === EntryType.FILE) budget.left -= st.size;
      this.pending.delete(path);
      try {
        const same =
          entry.type === EntryType.FILE
            ? hashFile(abs, this.buf, this.hasher).hash === entry.hash
            : readlinkSync(abs) === entry.target;
        const after = lstatSync(abs, { throwIfNoEntry: false });
        if (same && after !== undefined && sameStat(stat, after)) this.known.set(path, stat);
      } catch {
        // Unreadable or gone: left out, and looked at again by the next start.
      }
    }
  }
}
