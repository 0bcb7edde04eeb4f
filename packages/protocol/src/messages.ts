import type { AppSpec } from './app-spec.ts';
import type { Entry } from './entry.ts';
import type { ErrorCode } from './errors.ts';

/**
 * Message kinds: the closed vocabulary of the wire. The number is the frame's
 * first byte; it never changes for a released kind.
 *
 * Session shape:
 *   agent → HELLO (its version, root, capabilities, manifest digest)
 *   daemon → HELLO (its version); a mismatch ends the session with ERROR
 *   daemon → INVENTORY_REQUEST when the digests differ; agent → INVENTORY pages
 *   daemon → BATCH_BEGIN, FILE/COPY/SYMLINK/MKDIR/DELETE..., COMMIT
 *   agent → APPLIED (per-path problems, new digest)
 *   agent → APP_STATUS and LOG whenever the app changes or prints
 *   daemon → APP_SPEC at any time after its HELLO, to an agent whose HELLO
 *     lists Capability.APP_SPEC: the app spec to run from now on
 *   daemon → SPAN, inside a batch, to an agent whose HELLO lists
 *     Capability.SPANS: part of a file taken from the agent's current
 *     version of it, or left as a hole (see SpanHeader)
 */
export const Kind = {
  HELLO: 1,
  INVENTORY_REQUEST: 2,
  INVENTORY: 3,
  BATCH_BEGIN: 4,
  FILE: 5,
  SYMLINK: 6,
  MKDIR: 7,
  DELETE: 8,
  COMMIT: 9,
  APPLIED: 10,
  ERROR: 11,
  APP_STATUS: 12,
  LOG: 13,
  APP_SPEC: 14,
  COPY: 15,
  SPAN: 16,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export const KIND_NAMES: Record<Kind, string> = Object.fromEntries(
  Object.entries(Kind).map(([name, value]) => [value, name]),
) as Record<Kind, string>;

export interface HelloHeader {
  protocol: number;
  /** Program and version, e.g. "skiff-agent/0.1.0". */
  software: string;
  /** Agent only: the absolute root it writes to. */
  root?: string;
  capabilities?: string[];
  /** Agent only: manifest digest of its root (see entry.ts). */
  digest?: string;
  /** Agent only: number of entries in its root. */
  entries?: number;
}

export interface InventoryHeader {
  /** Page number from 0; the payload is a JSON array of Entry. */
  page: number;
  /** True on the last page. */
  last: boolean;
}

export interface BatchBeginHeader {
  batch: number;
  /** Number of operations announced: progress only, not trusted. */
  ops: number;
  /** Bytes of file content announced: progress only, not trusted. */
  bytes: number;
}

/**
 * One chunk of a file. `offset` 0 starts the file (any earlier partial write of
 * the same path is discarded); the file completes when offset + payload length
 * reaches `size`. An empty file is one FILE frame with size 0.
 */
export interface FileHeader {
  batch: number;
  path: string;
  size: number;
  mode: number;
  mtime: number;
  /** xxhash64 of the whole content; recorded by the agent as sent. */
  hash: string;
  offset: number;
}

/**
 * A file whose content the agent already holds at another path: a file moved
 * or renamed in the project travels as this, not as its bytes. The agent
 * places a copy of `from` at `path` (temporary name, then rename, as for
 * FILE) when `from` still holds content of `hash` and `size`; otherwise the
 * path is a Problem with SKIFF_E_COPY_SOURCE and the daemon sends the bytes.
 * `from` itself is untouched: its DELETE, when the move removed it, comes at
 * commit like any other.
 */
export interface CopyHeader {
  batch: number;
  path: string;
  from: string;
  size: number;
  mode: number;
  mtime: number;
  hash: string;
}

/**
 * A run of a file being written that does not travel as bytes: the file's
 * frames (FILE for literal bytes, SPAN for these) cover it from offset 0 in
 * order, each at the offset where the previous one ended, all with the
 * same size, mode and mtime, and the file completes when one ends at
 * `size`. A SPAN may start the file. The hash that counts (recorded, and
 * checked for a delta) is the one of the frame that completes the file: a
 * sender that hashes the content as it reads it knows it only then, and
 * earlier frames may carry any valid value.
 *
 * - with `from`: `length` bytes copied from offset `from` of the agent's
 *   current file at `path` (the delta's base), which its manifest must
 *   record with hash `base` (required then). The result is checked against
 *   `hash` before it replaces the base; a base that is not the one announced,
 *   or a result of another hash, is a Problem with SKIFF_E_DELTA_BASE and
 *   the daemon sends the whole file;
 * - without: `length` zero bytes, left as a hole in the file (a sparse file
 *   stays sparse).
 *
 * `length` is 1..MAX_SPAN_BYTES: the work one frame asks for is bounded.
 */
export interface SpanHeader {
  batch: number;
  path: string;
  size: number;
  mode: number;
  mtime: number;
  /** xxhash64 of the whole new content. */
  hash: string;
  offset: number;
  length: number;
  /** Offset in the base to copy from; absent for a hole. */
  from?: number;
  /** xxhash64 the agent's manifest records for the base; required with `from`. */
  base?: string;
}

export interface SymlinkHeader {
  batch: number;
  path: string;
  target: string;
  mtime: number;
}

export interface MkdirHeader {
  batch: number;
  path: string;
  mode: number;
}

export interface DeleteHeader {
  batch: number;
  path: string;
}

export interface CommitHeader {
  batch: number;
}

export interface Problem {
  path: string;
  code: ErrorCode;
  message: string;
}

export interface AppliedHeader {
  batch: number;
  written: number;
  deleted: number;
  bytes: number;
  problems: Problem[];
  /** Manifest digest of the agent's root after the batch. */
  digest: string;
  entries: number;
}

export interface ErrorHeader {
  code: ErrorCode;
  message: string;
  batch?: number;
  path?: string;
}

export const AppState = {
  WAITING: 'waiting',
  ASSEMBLING: 'assembling',
  STARTING: 'starting',
  RUNNING: 'running',
  STOPPING: 'stopping',
  EXITED: 'exited',
  BACKOFF: 'backoff',
  ASSEMBLE_FAILED: 'assemble-failed',
  NO_COMMAND: 'no-command',
} as const;
export type AppState = (typeof AppState)[keyof typeof AppState];

export interface AppStatusHeader {
  state: AppState;
  pid?: number;
  restarts: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Milliseconds since the epoch when this state began. */
  since: number;
  message?: string;
}

export const LogStream = { STDOUT: 'stdout', STDERR: 'stderr', SYSTEM: 'system' } as const;
export type LogStream = (typeof LogStream)[keyof typeof LogStream];

export interface LogHeader {
  stream: LogStream;
  /** Milliseconds since the epoch. Payload: the bytes printed. */
  ts: number;
}

/**
 * The app spec the agent runs from now on (an AppSpec; no payload). One that
 * differs from the agent's current spec restarts the app once (assemble runs
 * again when `assemble` changed); an equal one changes nothing.
 */
export type AppSpecHeader = AppSpec;

/** Header type of each kind. */
export interface HeaderOf {
  [Kind.HELLO]: HelloHeader;
  [Kind.INVENTORY_REQUEST]: Record<string, never>;
  [Kind.INVENTORY]: InventoryHeader;
  [Kind.BATCH_BEGIN]: BatchBeginHeader;
  [Kind.FILE]: FileHeader;
  [Kind.SYMLINK]: SymlinkHeader;
  [Kind.MKDIR]: MkdirHeader;
  [Kind.DELETE]: DeleteHeader;
  [Kind.COMMIT]: CommitHeader;
  [Kind.APPLIED]: AppliedHeader;
  [Kind.ERROR]: ErrorHeader;
  [Kind.APP_STATUS]: AppStatusHeader;
  [Kind.LOG]: LogHeader;
  [Kind.COPY]: CopyHeader;
  [Kind.APP_SPEC]: AppSpecHeader;
  [Kind.SPAN]: SpanHeader;
}

/** A decoded frame, discriminated on kind. */
export type Frame = {
  [K in Kind]: { kind: K; header: HeaderOf[K]; payload: Uint8Array };
}[Kind];

export type FrameOf<K extends Kind> = Extract<Frame, { kind: K }>;

export type InventoryPage = Entry[];
