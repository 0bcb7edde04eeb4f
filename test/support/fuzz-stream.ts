import { ErrorCode, Kind, encodeFrame, type Hasher } from '@skiff/protocol';
import type { Rng } from './fuzz-rng.ts';
import { INNER_TARGETS, fuzzHash, validPath } from './fuzz-values.ts';

/** A file size for fuzzing: mostly small, now and then a few KiB. */
function fileSize(rng: Rng): number {
  return rng.chance(0.9) ? rng.int(256) : rng.range(256, 8192);
}

interface ChunkedFile {
  path: string;
  size: number;
  mode: number;
  mtime: number;
  hash: string;
  content: Uint8Array;
  offset: number;
  /** For a delta: what the file is built of, in order (SPAN copies from its base, bytes, holes). */
  pieces?: Piece[];
}

/** One part of a delta: `from` a run of the base, else `bytes`, else a hole of `length` zeros. */
type Piece = { from: number; length: number } | { bytes: Uint8Array } | { length: number };

/** A file this stream wrote whole: a base a later delta can build on. */
interface Written {
  hash: string;
  content: Uint8Array;
}

/**
 * Valid frames, one at a time, for one connection after the handshake. Each
 * call continues the stream: a batch is begun, filled and committed, files
 * larger than one chunk arrive over several frames (possibly several
 * messages), and `finish()` ends whatever is open.
 */
export class ValidStream {
  private open = false;
  private readonly chunked: ChunkedFile[] = [];
  /** Files written whole by this stream, by path, while nothing else touched the path. */
  private readonly written = new Map<string, Written>();
  commits = 0;

  /** With `hasher`, deltas (SPAN copies of a file written earlier) carry the real hash of their result. */
  constructor(
    private readonly rng: Rng,
    private batch: number,
    private readonly hasher?: Hasher,
  ) {}

  get batchId(): number {
    return this.batch;
  }

  get batchOpen(): boolean {
    return this.open;
  }

  next(): Uint8Array {
    const rng = this.rng;
    if (!this.open) {
      this.open = true;
      return encodeFrame(Kind.BATCH_BEGIN, { batch: this.batch, ops: rng.int(1000), bytes: rng.int(1 << 20) });
    }
    if (this.chunked.length > 0 && rng.chance(0.5)) return this.nextChunk(rng.int(this.chunked.length));
    return rng.weighted<() => Uint8Array>([
      [50, () => this.wholeFile()],
      [6, () => this.startChunked()],
      [4, () => this.startDelta()],
      [6, () => encodeFrame(Kind.SYMLINK, { batch: this.batch, path: this.pathFor(), target: rng.pick(INNER_TARGETS), mtime: rng.int(2e12) })],
      [8, () => encodeFrame(Kind.MKDIR, { batch: this.batch, path: this.pathFor(), mode: rng.pick([0o755, 0o700, 0o777, 0o555]) })],
      [10, () => encodeFrame(Kind.DELETE, { batch: this.batch, path: this.pathFor() })],
      // A move: from a path that may hold that content, another content, or nothing at all.
      [4, () => encodeFrame(Kind.COPY, { batch: this.batch, path: this.pathFor(), from: this.pathFor(), size: rng.int(256), mode: 0o644, mtime: rng.int(2e12), hash: fuzzHash(rng) })],
      // An app spec without a command: the agent takes it in, and nothing is started.
      [1, () => encodeFrame(Kind.APP_SPEC, rng.pick([{}, { hotReload: ['*.md'] }, { env: { A: 'b' } }]))],
      [1, () => encodeFrame(Kind.INVENTORY_REQUEST, {})],
      [1, () => encodeFrame(Kind.ERROR, { code: ErrorCode.IO, message: 'the daemon reports a problem', batch: this.batch })],
      [4, () => this.commit()],
    ])();
  }

  /** The frames that complete every chunked file and commit the open batch. */
  finish(): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.chunked.length > 0) out.push(this.nextChunk(0));
    if (this.open) out.push(this.commit());
    return out;
  }

  /**
   * A path for a new operation. Any operation on a path discards that path's
   * half-sent file, so the stream stops sending its chunks: a chunk after the
   * discard would be a chunk of a file never begun.
   */
  private pathFor(): string {
    const path = validPath(this.rng);
    this.forget(path);
    return path;
  }

  /** Any operation on `path` discards its half-sent file, and may change what it, its parents or children are. */
  private forget(path: string): void {
    const at = this.chunked.findIndex((f) => f.path === path);
    if (at >= 0) this.chunked.splice(at, 1);
    for (const p of [...this.written.keys()]) {
      if (p === path || p.startsWith(`${path}/`) || path.startsWith(`${p}/`)) this.written.delete(p);
    }
  }

  private commit(): Uint8Array {
    // Chunked files still incomplete become problems of this batch: valid, if unusual.
    this.chunked.length = 0;
    this.open = false;
    this.commits += 1;
    return encodeFrame(Kind.COMMIT, { batch: this.batch++ });
  }

  private wholeFile(): Uint8Array {
    const rng = this.rng;
    const content = rng.bytes(fileSize(rng));
    const header = { batch: this.batch, path: this.pathFor(), size: content.length, mode: rng.pick([0o644, 0o755, 0o600, 0o000, 0o4755]), mtime: rng.int(2e12), hash: fuzzHash(rng), offset: 0 };
    if (content.length > 0) this.written.set(header.path, { hash: header.hash, content });
    return encodeFrame(Kind.FILE, header, content);
  }

  /**
   * A delta of a file this stream wrote whole: runs copied from it, new
   * bytes and holes, in a random order. Its hash is the real one of the
   * result when the stream has a hasher (the agent checks it), else random
   * (the agent refuses it with SKIFF_E_DELTA_BASE, a valid outcome too).
   */
  private startDelta(): Uint8Array {
    const rng = this.rng;
    const bases = [...this.written.entries()];
    if (bases.length === 0) return this.wholeFile();
    const [path, base] = rng.pick(bases);
    this.forget(path);
    const pieces: Piece[] = [];
    const parts: Uint8Array[] = [];
    for (let i = 0, n = rng.range(1, 6); i < n; i++) {
      const which = rng.int(3);
      if (which === 0) {
        const from = rng.int(base.content.length);
        const length = rng.range(1, base.content.length - from);
        pieces.push({ from, length });
        parts.push(base.content.subarray(from, from + length));
      } else if (which === 1) {
        const bytes = rng.bytes(rng.range(1, 2000));
        pieces.push({ bytes });
        parts.push(bytes);
      } else {
        const length = rng.range(1, 5000);
        pieces.push({ length });
        parts.push(new Uint8Array(length));
      }
    }
    const content = Buffer.concat(parts);
    const result = this.hasher ? this.hasher.h64Bytes(content) : fuzzHash(rng);
    const f: ChunkedFile = { path, size: content.length, mode: 0o644, mtime: rng.int(2e12), hash: result, content, offset: 0, pieces };
    this.chunked.push(f);
    this.written.set(path, { hash: result, content });
    return this.nextChunk(this.chunked.length - 1, base.hash);
  }

  private startChunked(): Uint8Array {
    const rng = this.rng;
    const path = this.pathFor();
    const f: ChunkedFile = { path, size: 0, mode: 0o644, mtime: rng.int(2e12), hash: fuzzHash(rng), content: rng.bytes(rng.range(2, 3000)), offset: 0 };
    f.size = f.content.length;
    this.chunked.push(f);
    return this.chunkOf(f, rng.range(1, f.size - 1));
  }

  private nextChunk(i: number, baseHash?: string): Uint8Array {
    const f = this.chunked[i];
    let frame: Uint8Array;
    if (f.pieces) frame = this.pieceOf(f, baseHash ?? this.baseOf(f));
    else if (f.offset > 0 && this.rng.chance(0.2)) {
      // A hole in the middle of a chunked file: valid, and its bytes read as zeros on the agent.
      const length = Math.min(f.size - f.offset, this.rng.range(1, 1500));
      frame = encodeFrame(Kind.SPAN, { batch: this.batch, path: f.path, size: f.size, mode: f.mode, mtime: f.mtime, hash: f.hash, offset: f.offset, length });
      f.offset += length;
    } else frame = this.chunkOf(f, Math.min(f.size - f.offset, this.rng.range(1, 1500)));
    if (f.offset === f.size) this.chunked.splice(i, 1);
    return frame;
  }

  /** The base hash a delta's copies name: kept on its first piece. */
  private readonly deltaBases = new Map<ChunkedFile, string>();

  private baseOf(f: ChunkedFile): string {
    return this.deltaBases.get(f) ?? '0000000000000000';
  }

  /** The next piece of a delta, as one frame (bytes are sent whole: they are small). */
  private pieceOf(f: ChunkedFile, baseHash: string): Uint8Array {
    this.deltaBases.set(f, baseHash);
    const piece = f.pieces!.shift()!;
    const header = { batch: this.batch, path: f.path, size: f.size, mode: f.mode, mtime: f.mtime, hash: f.hash, offset: f.offset };
    let frame: Uint8Array;
    if ('bytes' in piece) {
      frame = encodeFrame(Kind.FILE, header, piece.bytes);
      f.offset += piece.bytes.length;
    } else if ('from' in piece) {
      frame = encodeFrame(Kind.SPAN, { ...header, length: piece.length, from: piece.from, base: baseHash });
      f.offset += piece.length;
    } else {
      frame = encodeFrame(Kind.SPAN, { ...header, length: piece.length });
      f.offset += piece.length;
    }
    return frame;
  }

  private chunkOf(f: ChunkedFile, length: number): Uint8Array {
    const header = { batch: this.batch, path: f.path, size: f.size, mode: f.mode, mtime: f.mtime, hash: f.hash, offset: f.offset };
    const frame = encodeFrame(Kind.FILE, header, f.content.subarray(f.offset, f.offset + length));
    f.offset += length;
    return frame;
  }
}
