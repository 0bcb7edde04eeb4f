import { connect, type Socket } from 'node:net';
import { ErrorCode, SKIFF_VERSION, SkiffError, isErrorCode } from '@skiff/protocol';
import {
  BuiltinMethod,
  CONTROL_PROTOCOL_VERSION,
  LineSplitter,
  MAX_LINE_BYTES,
  encodeMessage,
  parseHelloResult,
  parseServerMessage,
  protocolMismatchMessage,
  type ControlResponse,
  type HelloResult,
  type WireError,
} from './wire.ts';

/**
 * The CLI's end of the control socket. Kept light on purpose: every `skiff`
 * command loads it before anything else, so it imports node:net and the
 * protocol's errors and nothing that compiles or watches.
 */

/** How long the daemon has to answer hello before the connection counts as failed. */
export const HELLO_TIMEOUT_MS = 5_000;
/** How long close() waits for the daemon to acknowledge before destroying the socket. */
export const CLIENT_CLOSE_GRACE_MS = 1_000;
/** Listens to every event; the callback also gets the event's name. */
export const ANY_EVENT = '*';

/** A failure to reach the daemon; `notRunning` says no daemon listens (the CLI may start one). */
export class ControlConnectError extends SkiffError {
  readonly notRunning: boolean;
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; path?: string; notRunning?: boolean } = {}) {
    super(code, message, options);
    this.name = 'ControlConnectError';
    this.notRunning = options.notRunning ?? false;
  }
}

export function isDaemonNotRunning(err: unknown): boolean {
  return err instanceof ControlConnectError && err.notRunning;
}

export interface ControlConnectOptions {
  socketPath: string;
  /** The version this side announces (default: SKIFF_VERSION). */
  version?: string;
  /** The control protocol this side speaks (default: CONTROL_PROTOCOL_VERSION). */
  protocol?: number;
  helloTimeoutMs?: number;
}

export interface RequestOptions {
  /** Rejects with SKIFF_E_TIMEOUT when no answer came in time; none by default (a sync may be long). */
  timeoutMs?: number;
}

export type EventCallback = (data: unknown, event: string) => void;
export type CloseCallback = (reason: SkiffError | undefined) => void;

export interface ControlConnection {
  /** What the daemon said in its hello. */
  readonly daemon: HelloResult;
  readonly closed: boolean;
  /** Resolves with the result; rejects with a SkiffError carrying the daemon's code. */
  request<T = unknown>(method: string, params?: Record<string, unknown>, options?: RequestOptions): Promise<T>;
  /** Subscribes to an event (or ANY_EVENT); returns the unsubscribe function. */
  on(event: string, cb: EventCallback): () => void;
  /** Runs once when the connection ends, with why when it was not this side's close(). */
  onClose(cb: CloseCallback): void;
  close(): Promise<void>;
}

export async function connectControl(opts: ControlConnectOptions): Promise<ControlConnection> {
  const socket = await openSocket(opts.socketPath);
  const conn = new Connection(socket);
  const protocol = opts.protocol ?? CONTROL_PROTOCOL_VERSION;
  const version = opts.version ?? SKIFF_VERSION;
  let result: unknown;
  try {
    result = await conn.request(BuiltinMethod.HELLO, { protocol, version }, { timeoutMs: opts.helloTimeoutMs ?? HELLO_TIMEOUT_MS });
  } catch (err) {
    conn.destroy();
    if (err instanceof SkiffError && (err.code === ErrorCode.PROTOCOL_VERSION || err.code === ErrorCode.AUTH)) throw err;
    const why = err instanceof Error ? err.message : String(err);
    const code = err instanceof SkiffError && err.code === ErrorCode.TIMEOUT ? ErrorCode.TIMEOUT : ErrorCode.CONNECTION_LOST;
    throw new ControlConnectError(code, `skiffd on ${opts.socketPath} did not complete the hello: ${why}`, { cause: err, path: opts.socketPath });
  }
  const hello = parseHelloResult(result);
  if (hello === undefined) {
    conn.destroy();
    throw new ControlConnectError(ErrorCode.FRAME_MALFORMED, `skiffd on ${opts.socketPath} answered hello with ${JSON.stringify(result)}`, { path: opts.socketPath });
  }
  if (hello.protocol !== protocol) {
    conn.destroy();
    throw new SkiffError(ErrorCode.PROTOCOL_VERSION, protocolMismatchMessage(hello, { protocol, version }));
  }
  conn.daemon = hello;
  return conn;
}

function openSocket(socketPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const onError = (err: NodeJS.ErrnoException) => {
      socket.destroy();
      const notRunning = err.code === 'ENOENT' || err.code === 'ECONNREFUSED';
      const why = err.code === 'ENOENT' ? `no socket at ${socketPath}` : err.code === 'ECONNREFUSED' ? `nothing listens on ${socketPath}` : `${socketPath}: ${err.message}`;
      reject(new ControlConnectError(ErrorCode.CONNECTION_LOST, notRunning ? `skiffd is not running (${why})` : `cannot reach skiffd (${why})`, { cause: err, path: socketPath, notRunning }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

interface Pending {
  method: string;
  resolve(result: unknown): void;
  reject(err: SkiffError): void;
  timer?: NodeJS.Timeout;
}

class Connection implements ControlConnection {
  daemon: HelloResult = { protocol: 0, version: '', pid: 0 };
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Set<EventCallback>>();
  private closeCallbacks: CloseCallback[] = [];
  private isClosed = false;
  private closingHere = false;
  /** Why the connection ended, when the other side or the wire ended it. */
  private reason: SkiffError | undefined;
  private readonly splitter = new LineSplitter(MAX_LINE_BYTES);
  private readonly gone: Promise<void>;

  constructor(private readonly socket: Socket) {
    this.gone = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.socketOnData(chunk));
    socket.on('error', (err) => {
      this.reason ??= new SkiffError(ErrorCode.CONNECTION_LOST, `the connection to skiffd failed: ${err.message}`, { cause: err });
    });
    socket.once('close', () => this.socketOnClose());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  request<T = unknown>(method: string, params?: Record<string, unknown>, options: RequestOptions = {}): Promise<T> {
    if (this.isClosed || this.closingHere || !this.socket.writable) {
      return Promise.reject(this.reason ?? new SkiffError(ErrorCode.CONNECTION_LOST, 'the connection to skiffd is closed'));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { method, resolve: resolve as (r: unknown) => void, reject };
      if (options.timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new SkiffError(ErrorCode.TIMEOUT, `skiffd did not answer ${method} within ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      this.pending.set(id, entry);
      this.socket.write(encodeMessage(params === undefined ? { id, method } : { id, method, params }));
    });
  }

  on(event: string, cb: EventCallback): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(cb);
    return () => set.delete(cb);
  }

  onClose(cb: CloseCallback): void {
    if (this.isClosed) cb(this.reason);
    else this.closeCallbacks.push(cb);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.closingHere = true;
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), CLIENT_CLOSE_GRACE_MS);
    timer.unref();
    await this.gone;
    clearTimeout(timer);
  }

  destroy(): void {
    this.closingHere = true;
    this.socket.destroy();
  }

  private socketOnData(chunk: Buffer): void {
    const { lines, overflow } = this.splitter.push(chunk);
    for (const line of lines) this.socketOnLine(line);
    if (overflow) {
      this.reason ??= new SkiffError(ErrorCode.FRAME_MALFORMED, `skiffd sent a line longer than ${MAX_LINE_BYTES} bytes`);
      this.socket.destroy();
    }
  }

  private socketOnLine(line: string): void {
    const parsed = parseServerMessage(line);
    if (!parsed.ok) {
      this.reason ??= new SkiffError(ErrorCode.FRAME_MALFORMED, `skiffd sent a malformed message: ${parsed.message}`);
      this.socket.destroy();
      return;
    }
    const message = parsed.value;
    if ('event' in message) {
      this.deliver(message.event, message.data);
      return;
    }
    this.settle(message);
  }

  private settle(response: ControlResponse): void {
    if (response.id === null) {
      // The daemon could not read something this side sent; remember it as the likely reason of a close to come.
      if (!response.ok) this.reason ??= errorFromWire(response.error);
      return;
    }
    const entry = this.pending.get(response.id);
    if (entry === undefined) return; // timed out already
    this.pending.delete(response.id);
    clearTimeout(entry.timer);
    if (response.ok) entry.resolve(response.result);
    else entry.reject(errorFromWire(response.error));
  }

  /**
   * Listeners run inside the socket's data callback: one that throws must not
   * leave the remaining lines of the chunk unread, so its error is rethrown
   * on its own turn of the event loop, where it surfaces like any bug.
   */
  private deliver(event: string, data: unknown): void {
    for (const key of [event, ANY_EVENT]) {
      const set = this.listeners.get(key);
      if (set === undefined) continue;
      for (const cb of [...set]) {
        try {
          cb(data, event);
        } catch (err) {
          setImmediate(() => {
            throw err;
          });
        }
      }
    }
  }

  private socketOnClose(): void {
    this.isClosed = true;
    const reason = this.closingHere ? undefined : (this.reason ?? new SkiffError(ErrorCode.CONNECTION_LOST, 'skiffd closed the connection'));
    const failure = reason ?? new SkiffError(ErrorCode.CONNECTION_LOST, 'the connection to skiffd was closed');
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      entry.reject(failure);
    }
    this.pending.clear();
    this.reason = reason;
    const callbacks = this.closeCallbacks;
    this.closeCallbacks = [];
    for (const cb of callbacks) cb(reason);
  }
}

/** A daemon's error as a SkiffError; a code this build does not know is kept in the message. */
export function errorFromWire(error: WireError): SkiffError {
  if (isErrorCode(error.code)) return new SkiffError(error.code, error.message);
  return new SkiffError(ErrorCode.INTERNAL, `${error.message} [${error.code}]`);
}
