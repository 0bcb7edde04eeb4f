import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { loadFileIo, type NativeFileIo } from '@skiff/agent/file-io';
import {
  ErrorCode,
  FramePacker,
  Kind,
  MAX_CHUNK_BYTES,
  MAX_MESSAGE_BYTES,
  type AppliedHeader,
  type Entry,
  type FileHeader,
  type Hasher,
  type HeaderOf,
  type Problem,
  Capability,
  normaliseAppSpec,
  type AppSpec,
} from '@skiff/protocol';
import { peerCredAddonCandidates } from '../control/peer-cred.ts';
import type { ChunkStore } from '../index/chunk-store.ts';
import { isVanished } from '../index/vanished.ts';
import { PackResult, PackedFiles } from './pack-small.ts';
import { sendSpans, type QueueFrame } from './send-spans.ts';
import type { AgentClient } from '../transport/agent-client.ts';
import { SLICE_MS, TimeSlicer } from '../util/time-slicer.ts';
import { countOps, OpKind, type BatchOp } from './batch-ops.ts';

/**
 * Small files are read with synchronous calls, in slices between yields to
 * the event loop (util/time-slicer.ts). Measured on 50,000 files of ~2 KiB:
 * fs/promises readFile spent ~4.5 s in FileHandle open/fstat/read/close and
 * starved the agent; plain synchronous reads into one buffer take a fraction.
 */
export const READ_SLICE_MS = SLICE_MS;
/**
 * Target size of one websocket message of packed frames: the protocol's
 * largest message less one chunk, so the frame that passes the target still
 * fits. Fewer, larger messages cost both ends less per byte: a first sync of
 * 50,000 files, eight alternated runs each, ~1,018 ms with 3 MiB messages,
 * ~1,035 with 1 MiB (and ~1,043 vs ~993 in a second round).
 */
export const MESSAGE_TARGET_BYTES = MAX_MESSAGE_BYTES - MAX_CHUNK_BYTES;

export interface BatchProgress {
  files: number;
  bytes: number;
  totalFiles: number;
  totalBytes: number;
}

export interface SentBatch {
  applied: AppliedHeader;
  /** Entries as sent (hash and size of what was read), by path. */
  sent: Map<string, Entry>;
  /** Paths whose content changed while being read; the index must not record them. */
  stale: Set<string>;
  /** Paths that could not be read here (vanished files are left out silently). */
  problems: Problem[];
  files: number;
  /** Bytes of file content that travelled (a delta's copied runs and holes do not). */
  bytes: number;
  /** Files placed from content the agent already held (COPY): no bytes sent. */
  copied: number;
}

export interface SendBatchOptions {
  client: AgentClient;
  batch: number;
  root: string;
  /** The batch's operations; with `more`, a list the parts are appended to. */
  ops: BatchOp[];
  hasher: Hasher;
  onProgress?(progress: BatchProgress): void;
  /**
   * The agent takes SPAN frames: large files go as deltas against what it
   * holds and with their holes (send-spans.ts); their chunks are kept here.
   */
  spans?: ChunkStore;
  /** An app spec to hand the agent inside this batch (see SendOptions.appSpec). */
  appSpec?: AppSpec;
  /**
   * Operations that join the batch while it goes out, part by part (a first
   * sync that starts while the scan still walks): each part's directories,
   * copies and symlinks, then its small files, go out as it arrives; large
   * files and deletes wait for the end, as for `ops`. A part's directories
   * must not be under a directory of a later part. Every part is appended to
   * `ops`, which then lists the whole batch. BATCH_BEGIN announces what `ops`
   * held at the start: its counts are progress only, never checked.
   */
  more?: AsyncIterable<readonly BatchOp[]>;
  /**
   * Called once the whole batch is out, while the agent still applies it:
   * work that needs what was sent but not the agent's answer is done then
   * rather than after (a first sync's bookkeeping took ~0.2 s after the
   * APPLIED of 50,000 files, with the agent idle).
   */
  whileApplying?(sent: Omit<SentBatch, 'applied'>): void;
  /**
   * Work to do while the link is full (the agent is behind): told each
   * entry as it is sent, and asked for a small step at a time while a send
   * waits (AgentClient.send).
   */
  meanwhile?: Meanwhile;
  /**
   * Whether the line hash the addon gives with each small file it packs
   * (pack-small.ts) is kept with the entry sent, for the trees that take it
   * later (lineHashOf); default true. It goes to `meanwhile` either way: a
   * first sync into an empty agent needs it only there, its trees seeded
   * with the digest of what was sent (engine.ts fillLocal).
   */
  keepLineHashes?: boolean;
}

/** See SendBatchOptions.meanwhile. */
export interface Meanwhile {
  sent(entry: Entry): void;
  /** An entry sent whose line hash is known (the two halves): nothing left to hash for it. */
  sentHashed(hi: number, lo: number): void;
  /** Does a little of the work; returns whether any is left. */
  step(): boolean;
}

/**
 * Streams one batch to the agent and waits for its APPLIED.
 *
 * Small files are read by a bounded pool and packed many to a message; large
 * files follow one at a time, their chunks contiguous, so the agent holds at
 * most one partial file. Content is hashed as it is read, and the entry
 * reported back is what was actually sent: a file edited between scan and
 * read travels with its new hash, and a file that changed under a chunked
 * read is marked stale so the index does not record it.
 */
export async function sendBatch(opts: SendBatchOptions): Promise<SentBatch> {
  const { client, batch, root, ops, hasher } = opts;
  const counts = countOps(ops);
  const packer = new FramePacker(MESSAGE_TARGET_BYTES);
  const sent = new Map<string, Entry>();
  const stale = new Set<string>();
  const problems: Problem[] = [];
  const progress: BatchProgress = { files: 0, bytes: 0, totalFiles: counts.files, totalBytes: counts.bytes };
  let copied = 0;
  /** Bytes of files sent as spans that did not travel (copied from the base or holes), as a negative correction. */
  let literal = 0;

  const slicer = new TimeSlicer(READ_SLICE_MS);
  /** Packs a frame; a promise only when a message is full and goes out (the link may make it wait). */
  const packFrame = <K extends Kind>(kind: K, header: HeaderOf[K], payload?: Uint8Array): Promise<void> | undefined => {
    const message = packer.add(kind, header, payload);
    return message ? client.send(message, () => packer.recycle(message), meanwhile) : undefined;
  };
  const queueFrame = async <K extends Kind>(kind: K, header: HeaderOf[K], payload?: Uint8Array) => {
    await packFrame(kind, header, payload);
  };
  /**
   * A SPAN goes out at once rather than when its message fills: its header
   * is a few hundred bytes but asks the agent to copy up to 16 MiB, and
   * packed with the others a 500 MiB delta reached the agent only once the
   * whole file was read here (it then copied 500 MiB while this side waited).
   */
  const queueSpanFrame = async <K extends Kind>(kind: K, header: HeaderOf[K], payload?: Uint8Array) => {
    await packFrame(kind, header, payload);
    if (kind !== Kind.SPAN) return;
    const message = packer.flush();
    if (message) await client.send(message, () => packer.recycle(message), meanwhile);
  };
  const meanwhile = opts.meanwhile && (() => opts.meanwhile!.step());
  const record = (entry: Entry) => {
    sent.set(entry.path, entry);
    opts.meanwhile?.sent(entry);
  };
  const fileDone = (entry: Entry) => {
    record(entry);
    counted(entry);
  };
  /** A file the addon packed, with its line hash. */
  const packedDone = (entry: Entry, lineHi: number, lineLo: number) => {
    sent.set(entry.path, entry);
    opts.meanwhile?.sentHashed(lineHi, lineLo);
    counted(entry);
  };
  const counted = (entry: Entry) => {
    progress.files++;
    progress.bytes += entry.size;
    opts.onProgress?.(progress);
  };

  await queueFrame(Kind.BATCH_BEGIN, { batch, ops: ops.length, bytes: counts.bytes });
  if (opts.appSpec !== undefined && (client.hello.capabilities ?? []).includes(Capability.APP_SPEC)) {
    await queueFrame(Kind.APP_SPEC, normaliseAppSpec(opts.appSpec));
  }
  const large: Entry[] = [];
  /** Queues what is sent first (directories, copies, symlinks), sets aside large files; returns the small files. */
  const take = async (part: readonly BatchOp[]): Promise<Entry[]> => {
    const small: Entry[] = [];
    for (const op of part) {
      if (op.kind === OpKind.MKDIR) {
        await queueFrame(Kind.MKDIR, { batch, path: op.entry.path, mode: op.entry.mode });
        record(op.entry);
      } else if (op.kind === OpKind.COPY) {
        const e = op.entry;
        await queueFrame(Kind.COPY, { batch, path: e.path, from: op.from, size: e.size, mode: e.mode, mtime: e.mtime, hash: e.hash });
        record(e);
        copied++;
      } else if (op.kind === OpKind.SYMLINK) {
        await queueFrame(Kind.SYMLINK, { batch, path: op.entry.path, target: op.entry.target ?? '', mtime: op.entry.mtime });
        record(op.entry);
      } else if (op.kind === OpKind.FILE) {
        (op.entry.size <= MAX_CHUNK_BYTES ? small : large).push(op.entry);
      }
    }
    return small;
  };

  const readProblem = (entry: Entry, err: unknown): void => {
    if (isVanished(err)) return; // vanished since the scan: the next scan tells
    problems.push({ path: entry.path, code: ErrorCode.IO, message: `cannot read ${entry.path}: ${(err as Error).message}` });
  };

  // One buffer for every small file: encodeFrame copies the payload out of it.
  const buf = Buffer.allocUnsafe(MAX_CHUNK_BYTES + 1);
  const packed = packedFiles(hasher, opts.keepLineHashes ?? true, batch);
  const sendSmall = async (small: readonly Entry[]): Promise<void> => {
    for (const entry of small) {
      if (packed !== null) {
        const first = packed.reserve(packer, entry);
        if (first) await client.send(first, () => packer.recycle(first), meanwhile);
        let actual: Entry | PackResult;
        try {
          actual = packed.pack(packer, root, entry, batch);
        } catch (err) {
          readProblem(entry, err);
          continue;
        }
        if (actual === PackResult.LARGE) {
          large.push(entry); // grew past one chunk since the scan
          continue;
        }
        if (actual !== PackResult.NOT_PLAIN) {
          const message = packed.message;
          if (message) await client.send(message, () => packer.recycle(message), meanwhile);
          packedDone(actual, packed.lineHi, packed.lineLo);
          if (slicer.due()) await slicer.yield();
          continue;
        }
      }
      let n: number;
      try {
        // A wire path has no '.', '..' or empty segment (checkRelPath): joined as it is, without path.join's normalising.
        n = readSmallFile(`${root}/${entry.path}`, buf);
      } catch (err) {
        readProblem(entry, err);
        continue;
      }
      if (n > MAX_CHUNK_BYTES) {
        large.push(entry); // grew past one chunk since the scan
        continue;
      }
      const content = buf.subarray(0, n);
      const actual: Entry = { ...entry, size: n, hash: hasher.h64Bytes(content) };
      // Awaited only when there is something to wait for: 50,000 files, two promises each, showed in the profile.
      const sending = packFrame(Kind.FILE, { batch, path: actual.path, size: actual.size, mode: actual.mode, mtime: actual.mtime, hash: actual.hash, offset: 0 }, content);
      if (sending) await sending;
      fileDone(actual);
      if (slicer.due()) await slicer.yield();
    }
  };

  await sendSmall(await take(ops));
  if (opts.more) {
    for await (const part of opts.more) {
      for (const op of part) ops.push(op);
      const more = countOps(part);
      progress.totalFiles += more.files;
      progress.totalBytes += more.bytes;
      await sendSmall(await take(part));
    }
  }

  const bases = new Map<string, Entry>();
  for (const op of ops) if (op.kind === OpKind.FILE && op.base) bases.set(op.entry.path, op.base);
  for (const entry of large) {
    try {
      const actual = opts.spans
        ? await sendLargeBySpans(join(root, entry.path), entry, bases.get(entry.path), opts.spans)
        : await sendLargeFile(join(root, entry.path), entry, batch, hasher, queueFrame, stale);
      fileDone(actual);
    } catch (err) {
      readProblem(entry, err);
    }
  }

  for (const op of ops) {
    if (op.kind !== OpKind.DELETE) continue;
    await queueFrame(Kind.DELETE, { batch, path: op.path });
  }

  /**
   * Through send-spans.ts: one pass that hashes, cuts, compares and sends.
   * A file not as scanned (or never hashed) is sent as it is now, its hash
   * the one of what was read.
   */
  async function sendLargeBySpans(abs: string, entry: Entry, base: Entry | undefined, store: ChunkStore): Promise<Entry> {
    const fd = openSync(abs, 'r');
    try {
      const st = fstatSync(fd);
      const asScanned = st.size === entry.size && st.mtimeMs === entry.mtime;
      const announced = asScanned ? entry : { ...entry, size: st.size, mtime: st.mtimeMs, hash: '' };
      const chunks = base ? store.get(base.hash, base.size) : null;
      const sentSpans = await sendSpans({
        fd,
        entry: announced,
        batch,
        hasher,
        base: base && chunks ? { hash: base.hash, chunks } : null,
        queueFrame: queueSpanFrame as QueueFrame,
        slicer,
      });
      const actual = { ...announced, hash: sentSpans.hash };
      literal += sentSpans.literal - actual.size;
      if (sentSpans.stale) stale.add(entry.path);
      else if (sentSpans.chunks) store.put(actual.hash, sentSpans.chunks);
      return actual;
    } finally {
      closeSync(fd);
    }
  }

  const applied = client.applied(batch);
  // A link lost while the commit goes out fails the sends below, which throw;
  // the pending APPLIED is rejected with the same failure and must not
  // surface as an unhandled rejection (it would end the daemon).
  applied.catch(() => undefined);
  await queueFrame(Kind.COMMIT, { batch });
  const last = packer.flush();
  if (last) await client.send(last);
  // The bookkeeping below is synchronous: the socket must not still hold bytes the agent waits for.
  await client.written(meanwhile);
  const out = { sent, stale, problems, files: progress.files, bytes: progress.bytes + literal, copied };
  opts.whileApplying?.(out);
  return { ...out, applied: await applied };
}

/**
 * Sends a file larger than one chunk. The hash must be in the first frame, so
 * a file that changed since the scan is hashed again before it is sent; one
 * that changes during the send is padded or cut to its announced size and
 * marked stale, to be sent again by the next sync.
 */
async function sendLargeFile(
  abs: string,
  entry: Entry,
  batch: number,
  hasher: Hasher,
  queueFrame: (kind: typeof Kind.FILE, header: FileHeader, payload: Uint8Array) => Promise<void>,
  stale: Set<string>,
): Promise<Entry> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(abs, 'r');
    const st = await fh.stat();
    let actual = entry;
    if (st.size !== entry.size || st.mtimeMs !== entry.mtime || entry.hash === '') {
      actual = { ...entry, size: st.size, mtime: st.mtimeMs, hash: await hashHandle(fh, st.size, hasher) };
    }
    const buf = Buffer.alloc(Math.min(MAX_CHUNK_BYTES, Math.max(actual.size, 1)));
    let offset = 0;
    do {
      const want = Math.min(MAX_CHUNK_BYTES, actual.size - offset);
      const { bytesRead } = await fh.read(buf, 0, want, offset);
      if (bytesRead < want) {
        buf.fill(0, bytesRead, want);
        stale.add(entry.path);
      }
      const header = { batch, path: actual.path, size: actual.size, mode: actual.mode, mtime: actual.mtime, hash: actual.hash, offset };
      // The packer copies the chunk into its message, so `buf` can be reused.
      await queueFrame(Kind.FILE, header, buf.subarray(0, want));
      offset += want;
    } while (offset < actual.size);
    const after = await fh.stat();
    if (after.size !== actual.size || after.mtimeMs !== st.mtimeMs) stale.add(entry.path);
    return actual;
  } finally {
    await fh?.close();
  }
}

let nativeIo: NativeFileIo | null | undefined;

function fileIo(): NativeFileIo | null {
  // Loaded once: null (no addon) is an answer too, not a reason to look again.
  if (nativeIo === undefined) nativeIo = loadFileIo(peerCredAddonCandidates());
  return nativeIo;
}

/** Small files of `batch` packed by the addon (pack-small.ts), or null without it. */
function packedFiles(hasher: Hasher, keepLineHashes: boolean, batch: number): PackedFiles | null {
  const packFile = fileIo()?.packFile ?? null;
  return packFile === null || !PackedFiles.covers(batch) ? null : new PackedFiles(packFile, keepLineHashes ? hasher.h64 : null);
}

/**
 * Reads a file of at most buf.length bytes into `buf`; returns its length
 * (buf.length: it may be longer). In one call into the addon when it is
 * there (@skiff/agent/file-io): open, read and close through Node's fs were
 * a third of this side's time in a first sync of 50,000 files.
 */
function readSmallFile(abs: string, buf: Buffer): number {
  const io = fileIo();
  if (io !== null) return io.readFileInto(abs, buf);
  const fd = openSync(abs, 'r');
  try {
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0 || (n += got) === buf.length) return n;
    }
  } finally {
    closeSync(fd);
  }
}

async function hashHandle(fh: FileHandle, size: number, hasher: Hasher): Promise<string> {
  const stream = hasher.stream();
  const buf = Buffer.alloc(MAX_CHUNK_BYTES);
  for (let offset = 0; offset < size; ) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(MAX_CHUNK_BYTES, size - offset), offset);
    if (bytesRead === 0) break;
    stream.update(buf.subarray(0, bytesRead));
    offset += bytesRead;
  }
  return stream.digest();
}
