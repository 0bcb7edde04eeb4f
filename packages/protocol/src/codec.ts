import type { Entry } from './entry.ts';
import { ErrorCode, SkiffError } from './errors.ts';
import { FRAME_PREFIX_BYTES, MAX_CHUNK_BYTES, MAX_HEADER_BYTES, MAX_MESSAGE_BYTES } from './limits.ts';
import { KIND_NAMES, Kind, type Frame, type HeaderOf } from './messages.ts';
import { isKnownKind, validateEntry, validateHeader } from './validate.ts';

/*
 * Binary frame codec. A frame is
 *
 *   u8 kind | u32 BE header length | u32 BE payload length | JSON header | payload
 *
 * and one websocket message carries one or more whole frames, so thousands of
 * small files travel in a few large messages. Lengths are checked against the
 * limits before any allocation; a frame never spans two messages.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);

export function encodeFrame<K extends Kind>(kind: K, header: HeaderOf[K], payload: Uint8Array = EMPTY): Uint8Array {
  const head = encodeHeader(kind, header, payload);
  const out = new Uint8Array(FRAME_PREFIX_BYTES + head.length + payload.length);
  writeFrame(out, 0, kind, head, payload);
  return out;
}

/** The JSON header of a frame, after checking the header and payload limits. */
function encodeHeader(kind: Kind, header: unknown, payload: Uint8Array): Uint8Array {
  const head = encoder.encode(JSON.stringify(header));
  if (head.length > MAX_HEADER_BYTES) {
    throw new SkiffError(ErrorCode.FRAME_HEADER_TOO_LARGE, `${KIND_NAMES[kind]} header is ${head.length} bytes, over ${MAX_HEADER_BYTES}`);
  }
  if (payload.length > MAX_CHUNK_BYTES) {
    throw new SkiffError(ErrorCode.FRAME_CHUNK_TOO_LARGE, `${KIND_NAMES[kind]} payload is ${payload.length} bytes, over ${MAX_CHUNK_BYTES}`);
  }
  return head;
}

/** Writes one frame into `out` at `at`; returns the offset after it. */
function writeFrame(out: Uint8Array, at: number, kind: Kind, head: Uint8Array, payload: Uint8Array): number {
  const view = new DataView(out.buffer, out.byteOffset + at, FRAME_PREFIX_BYTES);
  view.setUint8(0, kind);
  view.setUint32(1, head.length);
  view.setUint32(5, payload.length);
  out.set(head, at + FRAME_PREFIX_BYTES);
  out.set(payload, at + FRAME_PREFIX_BYTES + head.length);
  return at + FRAME_PREFIX_BYTES + head.length + payload.length;
}

/**
 * Decodes every frame of one websocket message. Throws a SkiffError with the
 * code of the first problem: truncated, oversized, unknown kind, malformed
 * header or invalid path. Payloads are views into `data`, not copies.
 */
export function decodeFrames(data: Uint8Array): Frame[] {
  checkMessage(data);
  const frames: Frame[] = [];
  let at = 0;
  while (at < data.length) {
    const { frame, end } = decodeFrameAt(data, at);
    frames.push(frame);
    at = end;
  }
  return frames;
}

/** Throws what decodeFrames says of a message too large or empty as a whole. */
export function checkMessage(data: Uint8Array): void {
  if (data.length > MAX_MESSAGE_BYTES + FRAME_PREFIX_BYTES + MAX_HEADER_BYTES) {
    throw new SkiffError(ErrorCode.FRAME_CHUNK_TOO_LARGE, `message of ${data.length} bytes is over the limit`);
  }
  if (data.length === 0) throw new SkiffError(ErrorCode.FRAME_TRUNCATED, 'empty message');
}

/** Decodes the frame that starts at byte `at` of a message, as decodeFrames does each; returns it and where it ends. */
export function decodeFrameAt(data: Uint8Array, at: number): { frame: Frame; end: number } {
  if (data.length - at < FRAME_PREFIX_BYTES) {
    throw new SkiffError(ErrorCode.FRAME_TRUNCATED, `frame prefix cut short at byte ${at}`);
  }
  const kind = data[at];
  const headLen = readU32(data, at + 1);
  const payloadLen = readU32(data, at + 5);
  if (!isKnownKind(kind)) throw new SkiffError(ErrorCode.FRAME_UNKNOWN_KIND, `unknown frame kind ${kind}`);
  if (headLen > MAX_HEADER_BYTES) {
    throw new SkiffError(ErrorCode.FRAME_HEADER_TOO_LARGE, `${KIND_NAMES[kind]} header of ${headLen} bytes is over ${MAX_HEADER_BYTES}`);
  }
  if (payloadLen > MAX_CHUNK_BYTES) {
    throw new SkiffError(ErrorCode.FRAME_CHUNK_TOO_LARGE, `${KIND_NAMES[kind]} payload of ${payloadLen} bytes is over ${MAX_CHUNK_BYTES}`);
  }
  const headStart = at + FRAME_PREFIX_BYTES;
  const payloadStart = headStart + headLen;
  const end = payloadStart + payloadLen;
  if (end > data.length) {
    throw new SkiffError(ErrorCode.FRAME_TRUNCATED, `${KIND_NAMES[kind]} frame needs ${end - at} bytes, ${data.length - at} arrived`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data.subarray(headStart, payloadStart)));
  } catch (cause) {
    throw new SkiffError(ErrorCode.FRAME_MALFORMED, `${KIND_NAMES[kind]} header is not valid UTF-8 JSON`, { cause });
  }
  const header = validateHeader(kind, KIND_NAMES[kind], parsed);
  const payload = data.subarray(payloadStart, end);
  if (kind === Kind.FILE) {
    const h = header as HeaderOf[typeof Kind.FILE];
    if (h.offset + payloadLen > h.size) {
      throw new SkiffError(ErrorCode.SIZE_MISMATCH, `FILE ${h.path}: ${payloadLen} bytes at offset ${h.offset} overrun its size ${h.size}`, { path: h.path });
    }
  } else if (kind === Kind.SPAN) {
    const h = header as HeaderOf[typeof Kind.SPAN];
    if (h.offset + h.length > h.size) {
      throw new SkiffError(ErrorCode.SIZE_MISMATCH, `SPAN ${h.path}: ${h.length} bytes at offset ${h.offset} overrun its size ${h.size}`, { path: h.path });
    }
    if (payloadLen !== 0) throw new SkiffError(ErrorCode.FRAME_MALFORMED, `SPAN ${h.path} carries a payload; a span has none`, { path: h.path });
  }
  return { frame: { kind, header, payload } as Frame, end };
}

/** A big-endian u32 of a frame prefix (no DataView made per frame: decodeFrameAt runs for every frame). */
function readU32(data: Uint8Array, at: number): number {
  return ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) >>> 0;
}

/** Decodes and validates an INVENTORY payload. */
export function decodeInventoryPage(payload: Uint8Array): Entry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(payload));
  } catch (cause) {
    throw new SkiffError(ErrorCode.FRAME_MALFORMED, 'INVENTORY payload is not valid UTF-8 JSON', { cause });
  }
  if (!Array.isArray(parsed)) throw new SkiffError(ErrorCode.FRAME_MALFORMED, 'INVENTORY payload is not an array');
  return parsed.map(validateEntry);
}

/** Splits entries into INVENTORY frames whose payloads stay under the chunk limit. */
export function encodeInventory(entries: Iterable<Entry>): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let page: string[] = [];
  let bytes = 2;
  const flush = (last: boolean) => {
    frames.push(encodeFrame(Kind.INVENTORY, { page: frames.length, last }, encoder.encode(`[${page.join(',')}]`)));
    page = [];
    bytes = 2;
  };
  for (const e of entries) {
    const json = JSON.stringify(e);
    const size = encoder.encode(json).length + 1;
    if (bytes + size > MAX_CHUNK_BYTES && page.length > 0) flush(false);
    page.push(json);
    bytes += size;
  }
  flush(true);
  return frames;
}

/** Buffers a packer keeps for reuse; more in flight than this are left to the collector. */
const MAX_SPARE_BUFFERS = 16;

/**
 * Packs frames into websocket messages of about `target` bytes. `add`
 * encodes a frame straight into the message being filled (one copy of the
 * payload, not two); `push` takes a frame already encoded. Either returns a
 * message to send once the pending frames reached the target. A returned
 * message is never written to again.
 */
export class FramePacker {
  private buf: Uint8Array | null = null;
  /** Buffers of messages written out, for the next messages (see recycle). */
  private readonly spare: Uint8Array[] = [];
  private size = 0;
  /** Room for a message at the target plus one largest frame. */
  private readonly capacity: number;

  constructor(private readonly target: number = MAX_CHUNK_BYTES) {
    this.capacity = Math.min(MAX_MESSAGE_BYTES, target + FRAME_PREFIX_BYTES + MAX_HEADER_BYTES + MAX_CHUNK_BYTES);
  }

  /**
   * Encodes and adds a frame. The header's UTF-8 goes straight into the
   * message (encodeInto, room reserved for its worst case of 3 bytes per
   * UTF-16 unit): a first sync adds tens of thousands of frames, and a
   * header array allocated and copied per frame showed in its profile.
   */
  add<K extends Kind>(kind: K, header: HeaderOf[K], payload: Uint8Array = EMPTY): Uint8Array | null {
    const json = JSON.stringify(header);
    const room = json.length * 3;
    // A header that might not fit the limit is measured first, so that a refusal happens before any flush.
    if (room > MAX_HEADER_BYTES) return this.addEncoded(kind, encodeHeader(kind, header, payload), payload);
    if (payload.length > MAX_CHUNK_BYTES) {
      throw new SkiffError(ErrorCode.FRAME_CHUNK_TOO_LARGE, `${KIND_NAMES[kind]} payload is ${payload.length} bytes, over ${MAX_CHUNK_BYTES}`);
    }
    const out = this.reserve(FRAME_PREFIX_BYTES + room + payload.length);
    const buf = this.buf!;
    const at = this.size;
    const headStart = at + FRAME_PREFIX_BYTES;
    const { written } = encoder.encodeInto(json, buf.subarray(headStart, headStart + room));
    const view = new DataView(buf.buffer, buf.byteOffset + at, FRAME_PREFIX_BYTES);
    view.setUint8(0, kind);
    view.setUint32(1, written);
    view.setUint32(5, payload.length);
    buf.set(payload, headStart + written);
    this.size = headStart + written + payload.length;
    return out ?? (this.size >= this.target ? this.flush() : null);
  }

  private addEncoded(kind: Kind, head: Uint8Array, payload: Uint8Array): Uint8Array | null {
    const out = this.reserve(FRAME_PREFIX_BYTES + head.length + payload.length);
    this.size = writeFrame(this.buf!, this.size, kind, head, payload);
    return out ?? (this.size >= this.target ? this.flush() : null);
  }

  /** Adds a frame encoded by encodeFrame. */
  push(frame: Uint8Array): Uint8Array | null {
    const out = this.reserve(frame.length);
    this.buf!.set(frame, this.size);
    this.size += frame.length;
    return out ?? (this.size >= this.target ? this.flush() : null);
  }

  /**
   * Makes room for a frame of at most `worst` bytes at `pending` in
   * `buffer`, for a caller that writes the frame itself (the addon's
   * packFile reads a file straight into the message) and then calls
   * written(). Returns a message to send first when the frames pending had
   * to go to make that room.
   */
  reserve(worst: number): Uint8Array | null {
    const out = this.size > 0 && this.size + worst > this.capacity ? this.flush() : null;
    this.buf ??= this.fresh(worst);
    return out;
  }

  /** The message being filled, once reserve() made room in it. */
  get buffer(): Uint8Array {
    if (this.buf === null) throw new Error('FramePacker.buffer before reserve()');
    return this.buf;
  }

  /** A frame the caller wrote at `pending` ends at `end`; returns the message to send once the target is reached. */
  written(end: number): Uint8Array | null {
    this.size = end;
    return this.size >= this.target ? this.flush() : null;
  }

  /**
   * Hands back the buffer of a message this packer returned, once the
   * message is written out (the socket's write callback): the next message
   * is packed into it. Without it every message is a new buffer of about
   * twice the target, and a first sync's 300 MiB became 600 MiB of
   * allocations whose collection showed in its profile.
   */
  recycle(message: Uint8Array): void {
    if (message.buffer.byteLength >= this.capacity && this.spare.length < MAX_SPARE_BUFFERS) {
      this.spare.push(new Uint8Array(message.buffer, 0, message.buffer.byteLength));
    }
  }

  private fresh(atLeast: number): Uint8Array {
    if (atLeast <= this.capacity) {
      const spare = this.spare.pop();
      if (spare !== undefined) return spare;
    }
    return new Uint8Array(Math.max(this.capacity, atLeast));
  }

  /** Whatever is pending, as one message, or null when nothing is. */
  flush(): Uint8Array | null {
    if (this.size === 0 || this.buf === null) return null;
    const out = this.buf.subarray(0, this.size);
    this.buf = null;
    this.size = 0;
    return out;
  }

  get pending(): number {
    return this.size;
  }
}
