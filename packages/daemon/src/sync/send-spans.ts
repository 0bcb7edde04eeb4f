import { fstatSync, readSync } from 'node:fs';
import { Kind, MAX_CHUNK_BYTES, MAX_SPAN_BYTES, type Entry, type FileHeader, type Hasher, type SpanHeader } from '@skiff/protocol';
import { CDC_MAX_BYTES, nextCut } from '../core/cdc.ts';
import type { ChunkList } from '../index/chunk-store.ts';
import type { TimeSlicer } from '../util/time-slicer.ts';

/** Bytes read from the file at a time. */
export const SPAN_READ_BYTES = 4 * 1024 * 1024;
/** The file systems' allocation unit: holes are made of whole pages. */
export const PAGE_BYTES = 4096;
/** Zero pages in a run at least this long go as a hole rather than as bytes. */
export const HOLE_MIN_BYTES = 4 * PAGE_BYTES;
const ZEROS = new Uint8Array(CDC_MAX_BYTES);
const ZERO_PAGE = Buffer.alloc(PAGE_BYTES);

export type QueueFrame = {
  (kind: typeof Kind.FILE, header: FileHeader, payload: Uint8Array): Promise<void>;
  (kind: typeof Kind.SPAN, header: SpanHeader): Promise<void>;
};

export interface SpanSend {
  /** Open descriptor of the file, read from offset 0. */
  fd: number;
  /**
   * The entry as announced: its size is what every frame carries. Its hash,
   * when known (scanned before), too; when not (UNHASHED, ''), the content
   * is hashed as it is read, and the last frame carries that hash (see
   * protocol SpanHeader: the agent takes the hash of the frame that
   * completes the file).
   */
  entry: Entry;
  batch: number;
  hasher: Hasher;
  /** The content the agent holds at this path and its chunks, when a delta is possible. */
  base: { hash: string; chunks: ChunkList } | null;
  queueFrame: QueueFrame;
  slicer: TimeSlicer;
}

export interface SpanSent {
  /** The xxhash64 of what was read: the hash the agent records. */
  hash: string;
  /** The chunks of what was read, for the next delta; null when the file changed while it was read. */
  chunks: ChunkList | null;
  /** The file was not, while it was read, the content its frames announced: the index must not record it. */
  stale: boolean;
  /** Bytes that travelled as FILE payloads (the rest were copied on the agent or left as holes). */
  literal: number;
}

/**
 * Sends a large file as FILE and SPAN frames (protocol SpanHeader), to an
 * agent that takes them. The file is read once, in order; as it is read it
 * is cut into content-defined chunks (core/cdc.ts), and each chunk travels
 *  - as a hole when it is all zeros (a sparse file stays sparse), and so are
 *    the runs of zero pages inside a chunk sent as bytes,
 *  - as a copy from the agent's current version of the file when that
 *    version has a chunk with the same hash (`base`), so an edit of a few
 *    bytes in 500 MiB sends a chunk or two and a handful of spans,
 *  - else as bytes.
 * Adjacent runs of one kind are merged. Every frame carries the size and
 * hash scanned before (the agent checks a delta's result against that
 * hash); the whole content is hashed again here as it is read, and a file
 * that no longer matches (edited meanwhile) is `stale`: padded or cut to
 * its announced size, and not recorded.
 */
export async function sendSpans(o: SpanSend): Promise<SpanSent> {
  const { entry } = o;
  // Not hashed yet: the frames before the last carry a stand-in; the last carries the hash of what was read.
  const header = { batch: o.batch, path: entry.path, size: entry.size, mode: entry.mode, mtime: entry.mtime, hash: entry.hash === '' ? STAND_IN_HASH : entry.hash };
  /** Base chunk hash → its index (the first of equal ones); offsets by index. */
  const baseIndex = new Map<string, number>();
  const baseOffsets: number[] = [];
  if (o.base) {
    let at = 0;
    o.base.chunks.lengths.forEach((len, i) => {
      if (!baseIndex.has(o.base!.chunks.hashes[i])) baseIndex.set(o.base!.chunks.hashes[i], i);
      baseOffsets.push(at);
      at += len;
    });
  }
  /** The base chunk that likely comes next, after a match (see below); -1 when none is expected. */
  let expect = -1;
  const out = new SpanEmitter(header, o.base?.hash ?? null, o.queueFrame);
  const whole = o.hasher.stream();
  const lengths: number[] = [];
  const hashes: string[] = [];
  const buf = Buffer.allocUnsafe(SPAN_READ_BYTES + CDC_MAX_BYTES);
  let fileAt = 0; // file offset of buf[0]
  let have = 0;
  let start = 0;
  let eof = false;
  for (;;) {
    if (!eof && have - start < CDC_MAX_BYTES) {
      buf.copyWithin(0, start, have);
      fileAt += start;
      have -= start;
      start = 0;
      while (have < buf.length && fileAt + have < entry.size) {
        const n = readSync(o.fd, buf, have, Math.min(buf.length - have, entry.size - fileAt - have), fileAt + have);
        if (n === 0) break;
        whole.update(buf.subarray(have, have + n));
        have += n;
      }
      eof = have < buf.length;
    }
    if (start >= have) break;
    // After a chunk that matched the base, the next is most likely the base's next one: its
    // length is tried first, and where the content is unchanged no byte is run through the
    // gear hash. The cut is the one the gear would find there (cuts depend only on the bytes
    // since the chunk's start), so the chunk list stays that of the content.
    if (expect >= 0 && expect < baseOffsets.length && have - start >= o.base!.chunks.lengths[expect]) {
      const length = o.base!.chunks.lengths[expect];
      const guess = buf.subarray(start, start + length);
      const key = o.hasher.h64Bytes(guess);
      if (key === o.base!.chunks.hashes[expect]) {
        lengths.push(length);
        hashes.push(key);
        await out.copy(baseOffsets[expect], length);
        start += length;
        expect++;
        await o.slicer.maybeYield();
        continue;
      }
    }
    const cut = nextCut(buf, start, have, eof);
    const chunk = buf.subarray(start, cut);
    const key = o.hasher.h64Bytes(chunk);
    lengths.push(chunk.length);
    hashes.push(key);
    const matched = baseIndex.get(key);
    expect = -1;
    if (Buffer.compare(chunk, ZEROS.subarray(0, chunk.length)) === 0) await out.hole(chunk.length);
    else if (matched !== undefined) {
      await out.copy(baseOffsets[matched], chunk.length);
      expect = matched + 1;
    } else await out.literal(chunk);
    start = cut;
    await o.slicer.maybeYield();
  }
  const read = fileAt + have;
  // Shorter than announced (cut meanwhile): the rest is a hole, and the file stale.
  if (read < entry.size) await out.hole(entry.size - read);
  const hash = whole.digest();
  await out.end(hash);
  const grew = fstatSync(o.fd).size !== entry.size;
  // A hash scanned before and not found again: the file changed between the two reads.
  const stale = read !== entry.size || grew || (entry.hash !== '' && hash !== entry.hash);
  return { hash, chunks: stale ? null : { size: entry.size, lengths, hashes }, stale, literal: out.literalBytes };
}

/** The hash frames carry before the last when the content is hashed as it is sent: any valid value, replaced by the last frame's. */
const STAND_IN_HASH = '0000000000000000';

type Pending = { kind: 'copy'; from: number; length: number } | { kind: 'hole'; length: number } | null;

/** A frame produced and not sent yet: the last one waits for the content's hash. */
type Held = { kind: typeof Kind.FILE; header: FileHeader; payload: Uint8Array } | { kind: typeof Kind.SPAN; header: SpanHeader };

/**
 * Turns runs into frames in file order, merging neighbours of one kind. The
 * frame made last is held back until the next one exists, so that the one
 * that completes the file can be given the hash of all that was read.
 * Literal bytes alternate between two buffers: the held frame's payload is
 * never overwritten before it goes.
 */
class SpanEmitter {
  private offset = 0;
  private pending: Pending = null;
  private readonly literalBufs = [Buffer.allocUnsafe(MAX_CHUNK_BYTES), Buffer.allocUnsafe(MAX_CHUNK_BYTES)];
  private literalBuf = this.literalBufs[0];
  private literalLen = 0;
  private held: Held | null = null;
  literalBytes = 0;

  constructor(
    private readonly header: Omit<FileHeader, 'offset'>,
    private readonly base: string | null,
    private readonly queueFrame: QueueFrame,
  ) {}

  async hole(length: number): Promise<void> {
    await this.flushLiteral();
    if (this.pending?.kind === 'hole' && this.pending.length + length <= MAX_SPAN_BYTES) {
      this.pending.length += length;
      return;
    }
    await this.flushPending();
    for (; length > MAX_SPAN_BYTES; length -= MAX_SPAN_BYTES) await this.span(MAX_SPAN_BYTES, undefined);
    this.pending = { kind: 'hole', length };
  }

  async copy(from: number, length: number): Promise<void> {
    await this.flushLiteral();
    const p = this.pending;
    if (p?.kind === 'copy' && p.from + p.length === from && p.length + length <= MAX_SPAN_BYTES) {
      p.length += length;
      return;
    }
    await this.flushPending();
    this.pending = { kind: 'copy', from, length };
  }

  /**
   * Bytes to send, but runs of at least HOLE_MIN_BYTES of zero pages (aligned
   * in the file) in them go as holes: a chunk around a few KiB of data in a
   * sparse file is mostly zeros, and neither the wire nor the agent's disk
   * should carry them.
   */
  async literal(bytes: Uint8Array): Promise<void> {
    const fileAt = this.offset + this.literalLen + (this.pending?.length ?? 0);
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    let page = (PAGE_BYTES - (fileAt % PAGE_BYTES)) % PAGE_BYTES;
    let dataFrom = 0;
    while (page + PAGE_BYTES <= bytes.length) {
      if (ZERO_PAGE.compare(view, page, page + PAGE_BYTES) !== 0) {
        page += PAGE_BYTES;
        continue;
      }
      let end = page + PAGE_BYTES;
      while (end + PAGE_BYTES <= bytes.length && ZERO_PAGE.compare(view, end, end + PAGE_BYTES) === 0) end += PAGE_BYTES;
      if (end - page >= HOLE_MIN_BYTES) {
        await this.bytes(bytes.subarray(dataFrom, page));
        await this.hole(end - page);
        dataFrom = end;
      }
      page = end;
    }
    await this.bytes(bytes.subarray(dataFrom));
  }

  /** Sends everything left; the last frame with `hash`. */
  async end(hash: string): Promise<void> {
    await this.flushLiteral();
    await this.flushPending();
    const last = this.held;
    this.held = null;
    if (last === null) return;
    last.header.hash = hash;
    await this.send(last);
  }

  private async bytes(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    await this.flushPending();
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(bytes.length - at, this.literalBuf.length - this.literalLen);
      this.literalBuf.set(bytes.subarray(at, at + n), this.literalLen);
      this.literalLen += n;
      at += n;
      if (this.literalLen === this.literalBuf.length) await this.flushLiteral();
    }
  }

  private async flushLiteral(): Promise<void> {
    if (this.literalLen === 0) return;
    const length = this.literalLen;
    const payload = this.literalBuf.subarray(0, length);
    this.literalLen = 0;
    this.literalBuf = this.literalBuf === this.literalBufs[0] ? this.literalBufs[1] : this.literalBufs[0];
    await this.hold({ kind: Kind.FILE, header: { ...this.header, offset: this.offset }, payload });
    this.offset += length;
    this.literalBytes += length;
  }

  private async flushPending(): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (p === null) return;
    await this.span(p.length, p.kind === 'copy' ? p.from : undefined);
  }

  private async span(length: number, from: number | undefined): Promise<void> {
    const h: SpanHeader = { ...this.header, offset: this.offset, length };
    if (from !== undefined) {
      h.from = from;
      h.base = this.base!;
    }
    await this.hold({ kind: Kind.SPAN, header: h });
    this.offset += length;
  }

  /** Holds `frame` back and sends the one held before. */
  private async hold(frame: Held): Promise<void> {
    const before = this.held;
    this.held = frame;
    if (before !== null) await this.send(before);
  }

  private send(frame: Held): Promise<void> {
    // The packer copies a payload into its message: the buffer is free again once this returns.
    return frame.kind === Kind.FILE ? this.queueFrame(Kind.FILE, frame.header, frame.payload) : this.queueFrame(Kind.SPAN, frame.header);
  }
}
