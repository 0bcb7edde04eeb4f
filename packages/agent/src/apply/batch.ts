import { join } from 'node:path';
import {
  EntryType,
  ErrorCode,
  SkiffError,
  checkLinkTarget,
  parentOf,
  type CopyHeader,
  type DeleteHeader,
  type FileHeader,
  type Hasher,
  type MkdirHeader,
  type Problem,
  type SpanHeader,
  type SymlinkHeader,
} from '@skiff/protocol';
import type { Manifest } from '../manifest/manifest.ts';
import { PERMISSION_BITS, dirEntry, fileEntry, linkEntry } from '../manifest/entries.ts';
import { toSeconds, type ApplyContext } from './context.ts';
import { copyWithinRoot } from './copy.ts';
import { applyDeletes } from './deletes.ts';
import { createdWithMode, errnoOf, realFs, type FsOps } from './fs-ops.ts';
import { toProblem } from './io-error.ts';
import { placeIntoRoot, removeTemp } from './place.ts';
import { applySpan } from './span.ts';
import { appendChunk, discardIncoming, finishIncoming, openIncoming, writeWholeFile, type IncomingFile } from './temp-file.ts';
import { moveEntry, moveInto, openStage, removeStage } from './stage.ts';
import { isReservedPath, tempName } from './temp-name.ts';
import { TreeGuard } from './tree-guard.ts';

/** Files a peer may have half-sent at once; each holds a descriptor. */
export const MAX_OPEN_FILES = 256;

export interface BatchOptions {
  /** Write into a stage moved into the root at commit (stage.ts); only for a root that holds nothing. */
  staged?: boolean;
  /** Hashes files that arrive in pieces, so a delta's result can be checked (span.ts); without it no delta is accepted. */
  hasher?: Hasher;
}

export interface BatchOutcome {
  written: number;
  deleted: number;
  bytes: number;
  problems: Problem[];
  /** Wire paths written, created or deleted. */
  paths: string[];
  /** For a staged batch (stage.ts), when its stage was moved into the root (Date.now()); else null or absent. */
  stagedAt?: number | null;
}

/**
 * One batch being applied: the FILE, SPAN, COPY, SYMLINK, MKDIR and DELETE frames between
 * BATCH_BEGIN and COMMIT.
 *
 * Two kinds of failure, kept apart:
 * - the peer broke the protocol (a chunk for a file never begun, at the wrong
 *   offset): a SkiffError with SKIFF_E_PROTOCOL_STATE is thrown and the
 *   connection ends;
 * - one path could not be applied (symlinked parent, permissions, full disk):
 *   it becomes a Problem in the result and every other path still applies.
 *   The remaining chunks of a file that failed are dropped quietly.
 *
 * Writes land as their frames arrive; deletes wait for commit; directory modes
 * are set at commit too, so a read-only directory can still be filled first.
 * Whatever is aborted leaves no temporary file behind.
 *
 * A staged batch (into an empty root, see stage.ts) writes under a stage
 * with a manifest of its own; at commit the stage moves into the root and
 * the root's manifest takes the stage's entries over, and from there on
 * (deletes, directory modes) the batch works on the root like any other.
 */
export class Batch {
  private ctx: ApplyContext;
  /** The stage's absolute path while a staged batch fills it, then null. */
  private stage: string | null = null;
  private readonly rootManifest: Manifest;
  private readonly open = new Map<string, IncomingFile>();
  /** Paths whose current file failed: their remaining chunks are dropped. */
  private readonly failed = new Set<string>();
  private readonly deletes = new Set<string>();
  private readonly written = new Set<string>();
  /** Final modes of the directories this batch made or changed, set at the end. */
  private readonly dirModes = new Map<string, number>();
  private readonly problems: Problem[] = [];
  private bytes = 0;
  private done = false;
  private stagedAt: number | null = null;

  private readonly hasher: Hasher | null;

  constructor(
    readonly id: number,
    private readonly root: string,
    manifest: Manifest,
    private readonly fs: FsOps,
    opts: BatchOptions = {},
  ) {
    this.rootManifest = manifest;
    this.hasher = opts.hasher ?? null;
    if (opts.staged) {
      this.stage = openStage(root, fs);
      const staged = manifest.emptyLike();
      this.ctx = { root: this.stage, fs, manifest: staged, guard: new TreeGuard(this.stage, fs, staged, (p) => this.isDeleted(p)), staged: true };
    } else {
      this.ctx = this.rootContext();
    }
  }

  private rootContext(): ApplyContext {
    const { root, fs, rootManifest: manifest } = this;
    return { root, fs, manifest, guard: new TreeGuard(root, fs, manifest, (p) => this.isDeleted(p)), staged: false };
  }

  file(h: FileHeader, payload: Uint8Array): void {
    if (h.offset === 0 && payload.length === h.size) {
      // A whole file in one frame, as nearly every file of a first sync: no closure, no state kept.
      this.drop(h.path);
      if (this.refuseReserved(h.path)) return;
      try {
        writeWholeFile(this.ctx, h, payload);
      } catch (err) {
        this.failure(h.path, 'write', err);
        return;
      }
      this.wrote(h.path, h.size);
      return;
    }
    if (h.offset === 0) {
      // A new start of the same path discards any earlier partial write.
      this.drop(h.path);
      if (this.refuseReserved(h.path)) return;
      this.attempt(h.path, 'write', () => this.append(this.begin(h), payload));
      return;
    }
    const f = this.continued('FILE', h);
    if (f !== null) this.attempt(h.path, 'write', () => this.append(f, payload));
  }

  /**
   * The stage the addon may write whole files into (fast-files.ts): a staged
   * batch's while it fills it, on the real filesystem (calls injected for a
   * test go through FsOps, which the addon does not); else null.
   */
  get nativeStage(): string | null {
    return this.fs === realFs ? this.stage : null;
  }

  /** A whole new file the addon wrote at its real name in the stage (fast-files.ts), recorded as file() records one. */
  wroteStaged(path: string, size: number, mtime: number, mode: number, hash: string, lineHi: number, lineLo: number): void {
    this.drop(path);
    this.ctx.manifest.setHashed(fileEntry(path, size, mtime, mode, hash), lineHi, lineLo);
    this.wrote(path, size);
  }

  /** A run of a file copied from its current version, or a hole (see span.ts). */
  span(h: SpanHeader): void {
    if (h.offset === 0) {
      this.drop(h.path);
      if (this.refuseReserved(h.path)) return;
      this.attempt(h.path, 'write', () => this.spanInto(this.begin(h), h));
      return;
    }
    const f = this.continued('SPAN', h);
    if (f !== null) this.attempt(h.path, 'write', () => this.spanInto(f, h));
  }

  /** Opens a file that arrives in pieces (FILE chunks, SPAN runs). */
  private begin(h: FileHeader | SpanHeader): IncomingFile {
    if (this.open.size >= MAX_OPEN_FILES) {
      throw new SkiffError(ErrorCode.PROTOCOL_STATE, `more than ${MAX_OPEN_FILES} files are half-sent in batch ${this.id}`);
    }
    const f = openIncoming(this.ctx, h);
    f.running = this.hasher?.stream() ?? null;
    this.open.set(h.path, f);
    return f;
  }

  /** The file a piece at a later offset continues, or null when its file already failed; a protocol error otherwise. */
  private continued(kind: string, h: FileHeader | SpanHeader): IncomingFile | null {
    const f = this.open.get(h.path);
    if (f === undefined) {
      if (this.failed.has(h.path)) return null;
      throw stateError(`${kind} ${h.path}: a piece at offset ${h.offset} of a file never begun in batch ${this.id}`, h.path);
    }
    if (f.written !== h.offset || f.size !== h.size) {
      throw stateError(`${kind} ${h.path}: a piece at offset ${h.offset} of size ${h.size}, expected offset ${f.written} of size ${f.size}`, h.path);
    }
    // The piece that completes the file says its hash: a sender that hashes as it reads knows it last.
    f.hash = h.hash;
    return f;
  }

  private spanInto(f: IncomingFile, h: SpanHeader): void {
    if (applySpan(this.ctx, f, h)) this.finish(f);
  }

  /** The last piece arrived: into place, or, when that fails (a delta's check), gone without a trace. */
  private finish(f: IncomingFile): void {
    this.open.delete(f.path);
    try {
      finishIncoming(this.ctx, f);
    } catch (err) {
      discardIncoming(this.ctx, f);
      throw err;
    }
    this.wrote(f.path, f.size);
  }

  /** A file whose content the root holds at another path (see copy.ts). */
  copy(h: CopyHeader): void {
    this.drop(h.path);
    if (this.refuseReserved(h.path)) return;
    this.attempt(h.path, 'copy', () => {
      copyWithinRoot(this.ctx, h);
      this.wrote(h.path, 0);
    });
  }

  symlink(h: SymlinkHeader): void {
    this.drop(h.path);
    if (this.refuseReserved(h.path)) return;
    this.attempt(h.path, 'create the symlink', () => {
      // Validated on decode already; checked again because this is where it matters.
      const unsafe = checkLinkTarget(h.path, h.target);
      if (unsafe) throw unsafe;
      const dir = parentOf(h.path);
      this.ctx.guard.ensureDir(dir, h.path);
      const tmpAbs = join(this.ctx.root, dir, tempName());
      this.ctx.fs.symlinkSync(h.target, tmpAbs);
      try {
        const t = toSeconds(h.mtime);
        this.ctx.fs.lutimesSync(tmpAbs, t, t);
        placeIntoRoot(this.ctx, tmpAbs, h.path);
      } catch (err) {
        removeTemp(this.ctx, tmpAbs);
        throw err;
      }
      this.ctx.manifest.set(linkEntry(h.path, h.target, h.mtime));
      this.wrote(h.path, 0);
    });
  }

  mkdir(h: MkdirHeader): void {
    this.drop(h.path);
    if (this.refuseReserved(h.path)) return;
    this.attempt(h.path, 'create the directory', () => {
      const { fs, root, guard, manifest } = this.ctx;
      guard.ensureDir(parentOf(h.path), h.path);
      const abs = join(root, h.path);
      const mode = h.mode & PERMISSION_BITS;
      // A mode the owner can write through, that the umask leaves whole, is given at once: no chmod at the
      // commit (4,000 of them, with their lstat, were ~40 ms of a first sync's commit, after its last byte).
      const finalNow = (mode & OWNER_WRITABLE_DIR_MODE) === OWNER_WRITABLE_DIR_MODE && createdWithMode(mode);
      // Created first, looked at only when something has the name (a new directory costs no lstat).
      if (!this.tryMkdir(abs, finalNow ? mode : OWNER_WRITABLE_DIR_MODE)) {
        const st = fs.lstatSync(abs, { throwIfNoEntry: false });
        if (st === undefined || !st.isDirectory()) {
          // A file or a symlink in the way: the incoming directory wins (unlink never follows).
          if (st !== undefined) fs.unlinkSync(abs);
          fs.mkdirSync(abs, OWNER_WRITABLE_DIR_MODE);
        }
        this.dirModes.set(h.path, mode);
      } else if (!finalNow) {
        this.dirModes.set(h.path, mode);
      }
      guard.remember(h.path);
      const old = manifest.get(h.path);
      manifest.set(dirEntry(h.path, mode, old?.type === EntryType.DIR ? old.mtime : Date.now()));
      this.wrote(h.path, 0);
    });
  }

  delete(h: DeleteHeader): void {
    this.drop(h.path);
    if (this.refuseReserved(h.path)) return;
    this.deletes.add(h.path);
  }

  /** Ends the batch: incomplete files become problems, then deletes, then directory modes. */
  commit(): BatchOutcome {
    for (const f of this.open.values()) {
      this.problems.push({
        path: f.path,
        code: ErrorCode.SIZE_MISMATCH,
        message: `${f.path}: only ${f.written} of ${f.size} bytes arrived before the commit; the previous version is kept`,
      });
    }
    this.closeOpenFiles();
    if (this.stage !== null) this.unstage();
    const deleted = applyDeletes(this.ctx, this.deletes, this.written, this.problems);
    this.settleDirModes();
    this.done = true;
    return {
      written: this.written.size,
      deleted: deleted.length,
      bytes: this.bytes,
      problems: this.problems,
      paths: [...this.written, ...deleted],
      stagedAt: this.stagedAt,
    };
  }

  /** Drops the batch (connection lost or replaced): no temporary file survives; deletes are not run. */
  abort(): void {
    if (this.done) return;
    this.closeOpenFiles();
    if (this.stage !== null) {
      removeStage(this.stage, this.fs);
      this.stage = null;
      this.dirModes.clear();
    }
    this.settleDirModes();
    this.done = true;
  }

  /**
   * Moves the stage's entries into the root and hands their manifest entries
   * over. A top-level entry that cannot be moved is a problem for each path
   * the batch wrote under it, and is not recorded: the daemon's next verify
   * sends it again.
   */
  private unstage(): void {
    const stage = this.stage!;
    const staged = this.ctx.manifest;
    this.stage = null;
    this.stagedAt = Date.now();
    this.ctx = this.rootContext();
    try {
      moveInto(stage, this.root, this.fs);
      this.rootManifest.adopt(staged);
      return;
    } catch {
      // Some entries moved, some not: record what is in the root, name by name.
    }
    for (const name of this.fs.readdirSync(stage)) {
      const top = [...this.written].filter((p) => p === name || p.startsWith(`${name}/`));
      try {
        moveEntry(join(stage, name), join(this.root, name), this.fs);
      } catch (err) {
        for (const path of top) {
          this.written.delete(path);
          this.problems.push(toProblem(err, path, 'move into place'));
        }
        staged.deleteTree(name);
      }
    }
    removeStage(stage, this.fs);
    this.rootManifest.adopt(staged);
  }

  private append(f: IncomingFile, payload: Uint8Array): void {
    if (appendChunk(this.ctx, f, payload)) this.finish(f);
  }

  /** Runs one path's work; a failure becomes that path's problem, unless it is the peer's fault. */
  private attempt(path: string, action: string, work: () => void): void {
    try {
      work();
    } catch (err) {
      this.failure(path, action, err);
    }
  }

  private failure(path: string, action: string, err: unknown): void {
    if (err instanceof SkiffError && err.code === ErrorCode.PROTOCOL_STATE) throw err;
    this.drop(path);
    this.failed.add(path);
    this.problems.push(toProblem(err, path, action));
  }

  private wrote(path: string, bytes: number): void {
    this.written.add(path);
    this.bytes += bytes;
  }

  /** Forgets any half-written file of `path` and any earlier failure of it. */
  private drop(path: string): void {
    if (this.failed.size > 0) this.failed.delete(path);
    if (this.open.size === 0) return;
    const f = this.open.get(path);
    if (f === undefined) return;
    this.open.delete(path);
    discardIncoming(this.ctx, f);
  }

  private refuseReserved(path: string): boolean {
    if (!isReservedPath(path)) return false;
    this.failed.add(path);
    this.problems.push({
      path,
      code: ErrorCode.UNSUPPORTED_FILE,
      message: `${path}: names starting with .skiff-tmp- are reserved for the agent's temporary files`,
    });
    return true;
  }

  private isDeleted(path: string): boolean {
    for (let at = path; at !== ''; at = parentOf(at)) if (this.deletes.has(at)) return true;
    return false;
  }

  private closeOpenFiles(): void {
    for (const f of this.open.values()) discardIncoming(this.ctx, f);
    this.open.clear();
  }

  /** Creates the directory `abs` with `mode`; false when something has that name already. */
  private tryMkdir(abs: string, mode: number): boolean {
    try {
      this.ctx.fs.mkdirSync(abs, mode);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return false;
      throw err;
    }
  }

  /** Deepest first, so a read-only parent is made read-only after its children. */
  private settleDirModes(): void {
    const dirs = [...this.dirModes.keys()].sort().reverse();
    for (const dir of dirs) {
      try {
        const abs = join(this.ctx.root, dir);
        if (this.ctx.fs.lstatSync(abs, { throwIfNoEntry: false })?.isDirectory()) this.ctx.fs.chmodSync(abs, this.dirModes.get(dir)!);
      } catch (err) {
        this.problems.push(toProblem(err, dir, 'set the mode of'));
      }
    }
    this.dirModes.clear();
  }
}

/** Directories are made writable by the agent first; their final mode comes at commit. */
const OWNER_WRITABLE_DIR_MODE = 0o700;

function stateError(message: string, path: string): SkiffError {
  return new SkiffError(ErrorCode.PROTOCOL_STATE, message, { path });
}
