import {
  AppState,
  FRAME_PREFIX_BYTES,
  Kind,
  LogStream,
  MAX_CHUNK_BYTES,
  MAX_HEADER_BYTES,
  PROTOCOL_VERSION,
  encodeFrame,
} from '@skiff/protocol';
import { rawFrame } from '../agent-harness.ts';
import type { Rng } from './fuzz-rng.ts';
import { HOSTILE_NUMBERS, HOSTILE_STRINGS, validPath } from './fuzz-values.ts';

/**
 * The ways a hostile or broken peer spoils the frames of a valid stream
 * (fuzz-stream.ts): bits flipped, lengths that lie, frames cut or spliced,
 * header fields swapped for hostile values (fuzz-values.ts), frames out of
 * order, messages that are not frames. Everything is drawn from a seeded
 * Rng, so a run is reproducible from its seed.
 */

const enc = new TextEncoder();

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
