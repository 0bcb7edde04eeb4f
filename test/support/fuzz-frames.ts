import {
  AppState,
  ErrorCode,
  FRAME_PREFIX_BYTES,
  Kind,
  LogStream,
  MAX_CHUNK_BYTES,
  MAX_HEADER_BYTES,
  MAX_NAME_BYTES,
  MAX_PATH_BYTES,
  PROTOCOL_VERSION,
  encodeFrame,
  type Hasher,
} from '@skiff/protocol';
import { rawFrame } from '../agent-harness.ts';
import type { Rng } from './fuzz-rng.ts';

/**
 * Frames for fuzzing the agent: a stream of valid frames that keeps the
 * protocol's state (batches begun and committed, files chunked across
 * messages), and the ways a hostile or broken peer spoils them: bits
 * flipped, lengths that lie, frames cut or spliced, header fields swapped
 * for hostile values, frames out of order. Everything is drawn from a seeded
 * Rng, so a run is reproducible from its seed.
 */

const enc = new TextEncoder();

/**
 * Name segments of valid paths. Few on purpose: the root stays small (at most
 * a few hundred entries) however long the run, and paths collide often (a
 * file where a directory was, a write through a link made earlier).
 * `planted` is a symlink to outside the root that the test puts there.
 */
const SEGMENTS = ['a', 'b', 'dir', 'ünï', 'sp ace', 'planted'] as const;
const MAX_DEPTH = 3;
/** Symlink targets that stay inside the root whatever the link's depth (checked again by the agent). */
const INNER_TARGETS = ['a', 'b', 'dir/a', 'ünï', '.'] as const;

/** Paths no agent may accept: `..` in every position, absolute, drive letters, NUL, too long, not normalised, reserved. */
export function hostilePaths(outside: readonly string[]): string[] {
  const deep = ['x', 'y', 'z'];
  const dotdot = deep.map((_, i) => deep.map((s, j) => (i === j ? '..' : s)).join('/'));
  return [
    '..',
    '../escape',
    '../../escape',
    'a/../../escape',
    'a/..',
    ...dotdot,
    '../'.repeat(40) + 'etc/passwd',
    ...outside,
    '/etc/passwd',
    '/',
    '\\\\server\\share\\x',
    '\\x',
    'C:\\Windows\\x',
    'C:/x',
    'c:x',
    'Z:',
    'a\\..\\..\\escape',
    'a\u0000b',
    '\u0000',
    'a/\u0000/b',
    'n'.repeat(MAX_NAME_BYTES + 1),
    `a/${'n'.repeat(MAX_NAME_BYTES + 1)}`,
    'é'.repeat(Math.ceil((MAX_NAME_BYTES + 1) / 2)),
    `${'d/'.repeat(MAX_PATH_BYTES / 2)}x`,
    '',
    '.',
    './a',
    'a/.',
    'a/',
    '/a',
    'a//b',
    '.skiff-tmp-0-1',
    'a/.skiff-tmp-x',
  ];
}

/** Values a numeric header field must refuse (or, for a few, survive): negative, fractional, unsafe, not numbers. */
export const HOSTILE_NUMBERS: readonly unknown[] = [
  -1,
  -0.5,
  0.5,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 32,
  2 ** 31,
  0xffffffff,
  Number.MAX_SAFE_INTEGER,
  '1',
  '',
  true,
  null,
  [],
  {},
  [1],
  { valueOf: 1 },
];

/** Values for string fields (hash, software, target, code, message). */
export const HOSTILE_STRINGS: readonly unknown[] = ['', 'G'.repeat(16), 'ABCDEF0123456789', '0'.repeat(15), '0'.repeat(17), 'x'.repeat(4097), 1, null, [], {}];

export function validPath(rng: Rng): string {
  const depth = rng.range(1, MAX_DEPTH);
  const parts: string[] = [];
  for (let i = 0; i < depth; i++) parts.push(rng.pick(SEGMENTS));
  return parts.join('/');
}

function hash(rng: Rng): string {
  return rng.next().toString(16).padStart(8, '0') + rng.next().toString(16).padStart(8, '0');
}

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
      [4, () => encodeFrame(Kind.COPY, { batch: this.batch, path: this.pathFor(), from: this.pathFor(), size: rng.int(256), mode: 0o644, mtime: rng.int(2e12), hash: hash(rng) })],
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
    const header = { batch: this.batch, path: this.pathFor(), size: content.length, mode: rng.pick([0o644, 0o755, 0o600, 0o000, 0o4755]), mtime: rng.int(2e12), hash: hash(rng), offset: 0 };
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
    const result = this.hasher ? this.hasher.h64Bytes(content) : hash(rng);
    const f: ChunkedFile = { path, size: content.length, mode: 0o644, mtime: rng.int(2e12), hash: result, content, offset: 0, pieces };
    this.chunked.push(f);
    this.written.set(path, { hash: result, content });
    return this.nextChunk(this.chunked.length - 1, base.hash);
  }

  private startChunked(): Uint8Array {
    const rng = this.rng;
    const path = this.pathFor();
    const f: ChunkedFile = { path, size: 0, mode: 0o644, mtime: rng.int(2e12), hash: hash(rng), content: rng.bytes(rng.range(2, 3000)), offset: 0 };
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

/** The parts of an encoded frame, read without any check (it may be one we spoiled). */
function split(frame: Uint8Array): { kind: number; header: Record<string, unknown>; payload: Uint8Array<ArrayBuffer> } | null {
  if (frame.length < FRAME_PREFIX_BYTES) return null;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const headLen = view.getUint32(1);
  const payloadLen = view.getUint32(5);
  if (FRAME_PREFIX_BYTES + headLen + payloadLen !== frame.length) return null;
  try {
    const header = JSON.parse(Buffer.from(frame.subarray(FRAME_PREFIX_BYTES, FRAME_PREFIX_BYTES + headLen)).toString('utf8')) as unknown;
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return null;
    return { kind: view.getUint8(0), header: header as Record<string, unknown>, payload: Uint8Array.from(frame.subarray(FRAME_PREFIX_BYTES + headLen)) };
  } catch {
    return null;
  }
}

const PATH_FIELDS = new Set(['path', 'target']);
const NUMBER_FIELDS = new Set(['batch', 'size', 'mode', 'mtime', 'offset', 'ops', 'bytes', 'protocol', 'page', 'entries', 'length', 'from']);
/** Kinds by number, valid and not: the agent must tell them apart. */
const KIND_BYTES = [0, ...Object.values(Kind), 14, 127, 128, 255];
/** Length-field values that lie: zero, off by a little, over every limit, the largest u32. */
function lyingLength(rng: Rng, truth: number): number {
  return rng.pick([0, 1, truth + 1, Math.max(0, truth - 1), truth + rng.range(2, 64), MAX_HEADER_BYTES + 1, MAX_CHUNK_BYTES, MAX_CHUNK_BYTES + 1, 0x7fffffff, 0xffffffff, rng.next()]);
}

export const Mutation = {
  BIT_FLIP: 'bit-flip',
  LENGTH_LIE: 'length-lie',
  TRUNCATE: 'truncate',
  SPLICE: 'splice',
  FIELD_SWAP: 'field-swap',
  KIND_SWAP: 'kind-swap',
  SIZE_LIE: 'size-lie',
} as const;
export type Mutation = (typeof Mutation)[keyof typeof Mutation];

/** A spoiled copy of `frame`; `other` is a second frame to splice with. */
export function mutate(rng: Rng, frame: Uint8Array, other: Uint8Array, hostile: readonly string[]): { bytes: Uint8Array; how: Mutation } {
  const how = rng.weighted<Mutation>([
    [3, Mutation.BIT_FLIP],
    [2, Mutation.LENGTH_LIE],
    [2, Mutation.TRUNCATE],
    [1, Mutation.SPLICE],
    [6, Mutation.FIELD_SWAP],
    [1, Mutation.KIND_SWAP],
    [1, Mutation.SIZE_LIE],
  ]);
  const out = Uint8Array.from(frame);
  const view = new DataView(out.buffer);
  switch (how) {
    case Mutation.BIT_FLIP: {
      const flips = rng.range(1, 8);
      for (let i = 0; i < flips; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
      return { bytes: out, how };
    }
    case Mutation.LENGTH_LIE: {
      // A piece shorter than a frame's prefix has no lengths to lie about: it stays as it is.
      if (out.length < FRAME_PREFIX_BYTES) return { bytes: out, how };
      const at = rng.pick([1, 5]);
      view.setUint32(at, lyingLength(rng, view.getUint32(at)));
      return { bytes: out, how };
    }
    case Mutation.TRUNCATE:
      return { bytes: out.subarray(0, rng.int(out.length)), how };
    case Mutation.SPLICE: {
      const head = out.subarray(0, rng.int(out.length + 1));
      const tail = other.subarray(rng.int(other.length + 1));
      return { bytes: Buffer.concat([head, tail]), how };
    }
    case Mutation.KIND_SWAP:
      view.setUint8(0, rng.pick(KIND_BYTES));
      return { bytes: out, how };
    case Mutation.SIZE_LIE: {
      const parts = split(frame);
      if (parts === null || parts.kind !== Kind.FILE) return { bytes: rawFrame(Kind.FILE, { batch: 0, path: 'a', size: 1, mode: 420, mtime: 0, hash: '0'.repeat(16), offset: 0 }, rng.bytes(rng.range(2, 50))), how };
      const size = parts.header.size as number;
      const lie = rng.pick([0, Math.max(0, size - 1), size + 1, size * 2 + 7, 2 ** 52, Number.MAX_SAFE_INTEGER]);
      return { bytes: rawFrame(Kind.FILE, { ...parts.header, size: lie }, parts.payload), how };
    }
    case Mutation.FIELD_SWAP: {
      const parts = split(frame);
      if (parts === null) return { bytes: out, how };
      const header = { ...parts.header };
      const fields = Object.keys(header);
      const field = fields.length > 0 && rng.chance(0.9) ? rng.pick(fields) : rng.pick(['path', 'batch', 'extra', '__proto__', 'constructor']);
      header[field] = rng.chance(0.1)
        ? undefined
        : PATH_FIELDS.has(field)
          ? rng.pick(hostile)
          : NUMBER_FIELDS.has(field) || rng.chance(0.5)
            ? rng.pick(HOSTILE_NUMBERS)
            : rng.pick(HOSTILE_STRINGS);
      return { bytes: rawFrame(parts.kind, header, parts.payload), how };
    }
  }
}

/** State of the connection a hostile frame is made for. */
export interface StreamState {
  batch: number;
  batchOpen: boolean;
}

export const Injection = {
  CHUNK_NEVER_BEGUN: 'chunk-never-begun',
  COMMIT_NEVER_BEGUN: 'commit-never-begun',
  FILE_NO_BATCH: 'file-no-batch',
  SECOND_HELLO: 'second-hello',
  BEGIN_WHILE_OPEN: 'begin-while-open',
  AGENT_ONLY_KIND: 'agent-only-kind',
  HOSTILE_PATH: 'hostile-path',
  ESCAPING_LINK: 'escaping-link',
  /** A COPY whose source path escapes, is absolute or is reserved. */
  HOSTILE_COPY_SOURCE: 'hostile-copy-source',
  HUGE_SIZE: 'huge-size',
  HOSTILE_HEADER: 'hostile-header',
  SPAN_NEVER_BEGUN: 'span-never-begun',
  SPAN_FOREIGN_BASE: 'span-foreign-base',
} as const;
export type Injection = (typeof Injection)[keyof typeof Injection];

/** A well-formed frame that no agent may act on in this state, or that carries a hostile value. */
export function hostileFrame(rng: Rng, state: StreamState, hostile: readonly string[]): { bytes: Uint8Array; how: Injection } {
  const b = state.batch;
  const how = rng.weighted<Injection>([
    [2, Injection.CHUNK_NEVER_BEGUN],
    [2, Injection.COMMIT_NEVER_BEGUN],
    [1, Injection.FILE_NO_BATCH],
    [2, Injection.SECOND_HELLO],
    [1, Injection.BEGIN_WHILE_OPEN],
    [2, Injection.AGENT_ONLY_KIND],
    [6, Injection.HOSTILE_PATH],
    [2, Injection.ESCAPING_LINK],
    [2, Injection.HOSTILE_COPY_SOURCE],
    [2, Injection.HUGE_SIZE],
    [2, Injection.HOSTILE_HEADER],
    [1, Injection.SPAN_NEVER_BEGUN],
    [2, Injection.SPAN_FOREIGN_BASE],
  ]);
  const file = (over: Record<string, unknown>, payload: Uint8Array<ArrayBuffer> = enc.encode('x')) =>
    rawFrame(Kind.FILE, { batch: b, path: validPath(rng), size: payload.length, mode: 0o644, mtime: 1, hash: '0123456789abcdef', offset: 0, ...over }, payload);
  switch (how) {
    case Injection.CHUNK_NEVER_BEGUN:
      return { bytes: file({ path: `never/${rng.int(1e6)}`, size: 100, offset: rng.range(1, 99) }), how };
    case Injection.COMMIT_NEVER_BEGUN:
      return { bytes: encodeFrame(Kind.COMMIT, { batch: b + rng.range(1, 1_000_000) }), how };
    case Injection.FILE_NO_BATCH:
      return { bytes: file({ batch: b + rng.range(1, 1000) }), how };
    case Injection.SECOND_HELLO:
      return { bytes: encodeFrame(Kind.HELLO, { protocol: rng.chance(0.5) ? PROTOCOL_VERSION : PROTOCOL_VERSION + 1, software: 'skiffd/fuzz' }), how };
    case Injection.BEGIN_WHILE_OPEN:
      return { bytes: encodeFrame(Kind.BATCH_BEGIN, { batch: b + 1, ops: 1, bytes: 1 }), how };
    case Injection.AGENT_ONLY_KIND:
      return {
        bytes: rng.pick([
          () => encodeFrame(Kind.APPLIED, { batch: b, written: 0, deleted: 0, bytes: 0, problems: [], digest: '0123456789abcdef', entries: 0 }),
          () => encodeFrame(Kind.INVENTORY, { page: 0, last: true }, enc.encode('[]')),
          () => encodeFrame(Kind.APP_STATUS, { state: AppState.RUNNING, restarts: 0, since: 1 }),
          () => encodeFrame(Kind.LOG, { stream: LogStream.STDOUT, ts: 1 }, enc.encode('hi')),
        ])(),
        how,
      };
    case Injection.HOSTILE_PATH: {
      const path = rng.pick(hostile);
      const kind = rng.pick([Kind.FILE, Kind.MKDIR, Kind.DELETE, Kind.SYMLINK, Kind.SPAN]);
      const header =
        kind === Kind.FILE
          ? { batch: b, path, size: 1, mode: 0o644, mtime: 1, hash: '0123456789abcdef', offset: 0 }
          : kind === Kind.SPAN
            ? { batch: b, path, size: 9, mode: 0o644, mtime: 1, hash: '0123456789abcdef', offset: 0, length: 9, from: 0, base: '0123456789abcdef' }
            : kind === Kind.SYMLINK
            ? { batch: b, path, target: 'a', mtime: 1 }
            : { batch: b, path, mode: 0o755 };
      return { bytes: rawFrame(kind, header, kind === Kind.FILE ? enc.encode('x') : undefined), how };
    }
    case Injection.HOSTILE_COPY_SOURCE:
      return { bytes: rawFrame(Kind.COPY, { batch: b, path: validPath(rng), from: rng.pick(hostile), size: 1, mode: 0o644, mtime: 1, hash: '0123456789abcdef' }), how };
    case Injection.SPAN_NEVER_BEGUN:
      return { bytes: rawFrame(Kind.SPAN, { batch: b, path: `never/${rng.int(1e6)}`, size: 100, mode: 0o644, mtime: 1, hash: '0123456789abcdef', offset: rng.range(1, 99), length: 1 }), how };
    case Injection.SPAN_FOREIGN_BASE: {
      // Valid on the wire: a copy from a base the agent may not hold, at offsets that may pass its end.
      const length = rng.range(1, 1 << 20);
      const header = { batch: b, path: validPath(rng), size: length + rng.int(100), mode: 0o644, mtime: 1, hash: '0123456789abcdef', offset: 0, length };
      return { bytes: rawFrame(Kind.SPAN, { ...header, from: rng.pick([0, 1, 2 ** 40, Number.MAX_SAFE_INTEGER - length]), base: rng.pick(['0123456789abcdef', 'ffffffffffffffff']) }), how };
    }
    case Injection.ESCAPING_LINK:
      return { bytes: rawFrame(Kind.SYMLINK, { batch: b, path: validPath(rng), target: rng.pick(hostile), mtime: 1 }), how };
    case Injection.HUGE_SIZE:
      // Valid on the wire: a file announced far larger than what follows. It must cost a descriptor, not memory or disk.
      return { bytes: file({ size: rng.pick([2 ** 40, 2 ** 52, Number.MAX_SAFE_INTEGER]) }, rng.bytes(rng.range(1, 64))), how };
    case Injection.HOSTILE_HEADER: {
      const kind = rng.pick(KIND_BYTES);
      const header = rng.pick<unknown>([
        null,
        [],
        42,
        'str',
        {},
        { batch: rng.pick(HOSTILE_NUMBERS) },
        { path: rng.pick(hostile), batch: b },
        // A raw header: JSON.parse makes "__proto__" an own key; nothing may treat it as the prototype.
        `{"__proto__":{"polluted":true},"batch":${b},"path":"a","size":1,"mode":420,"mtime":1,"hash":"0123456789abcdef","offset":0}`,
        '{"batch":1,"batch":-1}',
      ]);
      return { bytes: rawFrame(kind, header), how };
    }
  }
}

/** A message that is not frames at all: random bytes, nothing, or a prefix and no more. */
export function garbageMessage(rng: Rng): Uint8Array {
  return rng.weighted<() => Uint8Array>([
    [6, () => rng.bytes(rng.range(1, 2048))],
    [1, () => new Uint8Array(0)],
    [2, () => rng.bytes(rng.range(1, FRAME_PREFIX_BYTES - 1))],
    [2, () => rawFrame(rng.pick(KIND_BYTES), Buffer.from(rng.bytes(rng.range(0, 200))).toString('latin1'))],
  ])();
}
