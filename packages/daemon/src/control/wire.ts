import { ErrorCode } from '@skiff/protocol';

/**
 * The control wire between `skiff` and skiffd: one JSON value per line over a
 * Unix socket, UTF-8. Requests carry a numeric id that the response repeats;
 * events carry no id. Pure: no sockets here.
 */

/** Bumped on any incompatible change to the control methods or messages. */
export const CONTROL_PROTOCOL_VERSION = 1;

/**
 * The longest line either side accepts, newline excluded. A peer that sends
 * more without a newline is broken or hostile; buffering it would let one
 * client grow the daemon's memory without bound.
 */
export const MAX_LINE_BYTES = 1024 * 1024;

/** Methods every daemon answers, whatever handlers it was given. */
export const BuiltinMethod = {
  HELLO: 'hello',
  PING: 'ping',
} as const;
export type BuiltinMethod = (typeof BuiltinMethod)[keyof typeof BuiltinMethod];

/** Events the control layer itself sends. */
export const ControlEvent = {
  /** Events were dropped because this client read too slowly; data: { dropped }. */
  LAGGED: 'lagged',
} as const;
export type ControlEventName = (typeof ControlEvent)[keyof typeof ControlEvent];

export interface ControlRequest {
  id: number;
  method: string;
  params?: Record<string, unknown>;
}

export interface WireError {
  code: string;
  message: string;
}

export type ControlResponse =
  | { id: number | null; ok: true; result: unknown }
  | { id: number | null; ok: false; error: WireError };

export interface ControlEventMessage {
  event: string;
  data: unknown;
}

export type ServerMessage = ControlResponse | ControlEventMessage;

export interface HelloParams {
  protocol: number;
  version: string;
}

export interface HelloResult {
  protocol: number;
  version: string;
  pid: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; id: number | null; message: string };

/** One line as a request, or why it is not one (with the id when it could be read). */
export function parseRequest(line: string): Parsed<ControlRequest> {
  const json = parseJson(line);
  if (!json.ok) return json;
  const v = json.value;
  if (!isPlainObject(v)) return malformed(null, 'a request must be a JSON object');
  const id = isRequestId(v.id) ? v.id : null;
  if (id === null) return malformed(null, 'a request needs "id": a non-negative integer');
  if (typeof v.method !== 'string' || v.method === '') return malformed(id, 'a request needs "method": a non-empty string');
  if (v.params !== undefined && !isPlainObject(v.params)) return malformed(id, '"params" must be a JSON object when present');
  const request: ControlRequest = { id, method: v.method };
  if (v.params !== undefined) request.params = v.params;
  return { ok: true, value: request };
}

/** One line from the daemon as a response or an event. */
export function parseServerMessage(line: string): Parsed<ServerMessage> {
  const json = parseJson(line);
  if (!json.ok) return json;
  const v = json.value;
  if (!isPlainObject(v)) return malformed(null, 'a message must be a JSON object');
  if (typeof v.event === 'string' && v.id === undefined) return { ok: true, value: { event: v.event, data: v.data ?? null } };
  const id = v.id === null ? null : isRequestId(v.id) ? v.id : undefined;
  if (id === undefined) return malformed(null, 'a response needs "id": an integer or null');
  if (v.ok === true) return { ok: true, value: { id, ok: true, result: v.result ?? null } };
  if (v.ok === false && isPlainObject(v.error) && typeof v.error.code === 'string' && typeof v.error.message === 'string') {
    return { ok: true, value: { id, ok: false, error: { code: v.error.code, message: v.error.message } } };
  }
  return malformed(id, 'a response needs "ok": true with "result", or "ok": false with "error": {code, message}');
}

export function parseHelloParams(params: unknown): HelloParams | undefined {
  if (!isPlainObject(params)) return undefined;
  if (typeof params.protocol !== 'number' || !Number.isInteger(params.protocol)) return undefined;
  if (typeof params.version !== 'string') return undefined;
  return { protocol: params.protocol, version: params.version };
}

export function parseHelloResult(result: unknown): HelloResult | undefined {
  if (!isPlainObject(result)) return undefined;
  const { protocol, version, pid } = result;
  if (typeof protocol !== 'number' || typeof version !== 'string' || typeof pid !== 'number') return undefined;
  return { protocol, version, pid };
}

/** The advice given when the CLI and the running daemon disagree on the control protocol. */
export function protocolMismatchMessage(daemon: HelloResult, cli: HelloParams): string {
  return (
    `the running daemon is skiff ${daemon.version} (control protocol ${daemon.protocol}, pid ${daemon.pid}) ` +
    `and this CLI is skiff ${cli.version} (control protocol ${cli.protocol}): ` +
    'stop it with `skiff daemon stop` and run the command again'
  );
}

export function encodeMessage(message: ControlRequest | ServerMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/**
 * A response as a line. A result that cannot be encoded (a cycle, a BigInt)
 * or that no client would accept (over MAX_LINE_BYTES) becomes an error
 * response for the same id: the request gets an answer either way.
 */
export function encodeResponse(response: ControlResponse): string {
  let line: string;
  try {
    line = encodeMessage(response);
  } catch (err) {
    return encodeMessage(errorResponse(response.id, ErrorCode.INTERNAL, `the result could not be encoded: ${(err as Error).message}`));
  }
  if (Buffer.byteLength(line) > MAX_LINE_BYTES + 1) {
    return encodeMessage(errorResponse(response.id, ErrorCode.INTERNAL, `the result is larger than ${MAX_LINE_BYTES} bytes`));
  }
  return line;
}

export function okResponse(id: number, result: unknown): ControlResponse {
  return { id, ok: true, result: result === undefined ? null : result };
}

export function errorResponse(id: number | null, code: string, message: string): ControlResponse {
  return { id, ok: false, error: { code, message } };
}

export function malformedResponse(id: number | null, message: string): ControlResponse {
  return errorResponse(id, ErrorCode.FRAME_MALFORMED, message);
}

function parseJson(line: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(line) as unknown };
  } catch (err) {
    return malformed(null, `not valid JSON: ${(err as Error).message}`);
  }
}

function malformed(id: number | null, message: string): { ok: false; id: number | null; message: string } {
  return { ok: false, id, message };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isRequestId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export interface SplitResult {
  lines: string[];
  /** A line (or an unfinished one) passed the limit; the splitter yields nothing more. */
  overflow: boolean;
}

/**
 * Cuts a byte stream into lines. Works on bytes, not strings, so a UTF-8
 * character split across two chunks is decoded whole; keeps at most
 * `maxLineBytes` of an unfinished line, so memory per peer stays bounded.
 * Blank lines are skipped and a trailing CR is dropped (a person typing
 * into the socket with a terminal tool sends CRLF).
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overflowed = false;

  constructor(private readonly maxLineBytes: number = MAX_LINE_BYTES) {}

  get overflow(): boolean {
    return this.overflowed;
  }

  push(chunk: Buffer): SplitResult {
    const lines: string[] = [];
    if (this.overflowed) return { lines, overflow: true };
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const lineBytes = this.pendingBytes + (nl - start);
      if (lineBytes > this.maxLineBytes) return this.fail(lines);
      let line: Buffer;
      if (this.pending.length === 0) {
        line = chunk.subarray(start, nl);
      } else {
        this.pending.push(chunk.subarray(start, nl));
        line = Buffer.concat(this.pending, lineBytes);
        this.pending = [];
        this.pendingBytes = 0;
      }
      if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) line = line.subarray(0, line.length - 1);
      if (line.length > 0) lines.push(line.toString('utf8'));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxLineBytes) return this.fail(lines);
      // Copy: the caller may reuse the chunk's memory once we return.
      this.pending.push(Buffer.from(rest));
    }
    return { lines, overflow: false };
  }

  private fail(lines: string[]): SplitResult {
    this.overflowed = true;
    this.pending = [];
    this.pendingBytes = 0;
    return { lines, overflow: true };
  }
}
