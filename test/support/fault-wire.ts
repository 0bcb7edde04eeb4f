import { Kind, decodeFrames } from '@skiff/protocol';

/**
 * Finds, in the bytes a daemon sent on one connection (HTTP upgrade request,
 * then websocket frames), where its batch begins and ends on the wire: the
 * offset of the websocket message that opens with BATCH_BEGIN, and the end of
 * the message that carries COMMIT. Cut points drawn between the two land
 * inside the batch, whatever the handshake and the inventory cost.
 */
export interface BatchSpan {
  /** Offset of the first byte of the message holding BATCH_BEGIN. */
  start: number;
  /** Offset just past the last byte of the message holding COMMIT. */
  end: number;
}

const HTTP_END = Buffer.from('\r\n\r\n');
const OPCODE_BINARY = 0x2;
const LEN_16 = 126;
const LEN_64 = 127;
const MASK_BYTES = 4;

interface WsMessage {
  start: number;
  end: number;
  opcode: number;
  payload: Buffer;
}

/** The daemon's websocket frames, unmasked. A truncated last frame is left out. */
export function wsMessages(stream: Buffer): WsMessage[] {
  const headerEnd = stream.indexOf(HTTP_END);
  if (headerEnd < 0) return [];
  const out: WsMessage[] = [];
  let at = headerEnd + HTTP_END.length;
  while (at + 2 <= stream.length) {
    const start = at;
    const opcode = stream[at] & 0x0f;
    const masked = (stream[at + 1] & 0x80) !== 0;
    let len = stream[at + 1] & 0x7f;
    at += 2;
    if (len === LEN_16) {
      len = stream.readUInt16BE(at);
      at += 2;
    } else if (len === LEN_64) {
      len = Number(stream.readBigUInt64BE(at));
      at += 8;
    }
    const mask = masked ? stream.subarray(at, at + MASK_BYTES) : null;
    if (masked) at += MASK_BYTES;
    if (at + len > stream.length) break;
    const payload = Buffer.from(stream.subarray(at, at + len));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % MASK_BYTES];
    at += len;
    out.push({ start, end: at, opcode, payload });
  }
  return out;
}

export function batchSpan(stream: Buffer): BatchSpan {
  let start = -1;
  let end = -1;
  for (const m of wsMessages(stream)) {
    if (m.opcode !== OPCODE_BINARY) continue;
    const kinds = decodeFrames(m.payload).map((f) => f.kind);
    if (start < 0 && kinds[0] === Kind.BATCH_BEGIN) start = m.start;
    if (kinds.includes(Kind.COMMIT)) end = m.end;
  }
  if (start < 0 || end < 0) throw new Error(`no whole batch in ${stream.length} recorded bytes`);
  return { start, end };
}
