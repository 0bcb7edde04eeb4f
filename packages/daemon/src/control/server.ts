import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode, SKIFF_VERSION, SkiffError, asSkiffError, isErrorCode } from '@skiff/protocol';
import { LogLevel, type ControlLog } from './log.ts';
import { DEFAULT_PEER_LIMITS, ControlPeer, type ControlClient, type PeerLimits } from './peer.ts';
import { ownerOnlyGate } from './peer-cred.ts';
import { SOCKET_MODE } from './runtime-paths.ts';
import {
  BuiltinMethod,
  CONTROL_PROTOCOL_VERSION,
  LineSplitter,
  MAX_LINE_BYTES,
  errorResponse,
  malformedResponse,
  okResponse,
  parseHelloParams,
  parseRequest,
  protocolMismatchMessage,
  type ControlRequest,
  type HelloResult,
} from './wire.ts';

export type { ControlClient } from './peer.ts';

/**
 * The daemon's control server: accepts terminals on a Unix socket, checks
 * each one's hello, routes requests to handlers and answers them.
 *
 * Invariant: nothing a client sends, and nothing a handler throws, takes the
 * server down or delays another client. Every line is parsed defensively,
 * every handler runs in its own try/catch and its result is written when it
 * is ready (requests of one client do not wait for each other), and writes
 * go through ControlPeer, which never blocks.
 */

export type ControlHandler = (params: unknown, client: ControlClient) => Promise<unknown> | unknown;
export type ControlHandlers = Record<string, ControlHandler>;

export interface ControlServerOptions {
  socketPath: string;
  handlers: ControlHandlers;
  log?: ControlLog;
  /** The version announced in hello (default: this tree's SKIFF_VERSION). */
  version?: string;
  /** Slow-client bounds; tests lower them. */
  limits?: Partial<PeerLimits>;
  /** The only uid whose connections are served (default: this process's); see peer-cred.ts. */
  ownerUid?: number;
}

export interface ControlServer {
  /** Stops accepting, closes every connection (flushing what is queued), removes the socket file. */
  close(): Promise<void>;
  /** Connections currently open. */
  clients(): number;
}

const BUILTIN_NAMES: ReadonlySet<string> = new Set(Object.values(BuiltinMethod));

export async function startControlServer(opts: ControlServerOptions): Promise<ControlServer> {
  for (const name of Object.keys(opts.handlers)) {
    if (BUILTIN_NAMES.has(name)) throw new SkiffError(ErrorCode.INTERNAL, `handler ${JSON.stringify(name)} would replace a built-in control method`);
  }
  const log: ControlLog = opts.log ?? (() => {});
  const limits: PeerLimits = { ...DEFAULT_PEER_LIMITS, ...opts.limits };
  const hello: HelloResult = { protocol: CONTROL_PROTOCOL_VERSION, version: opts.version ?? SKIFF_VERSION, pid: process.pid };
  const peers = new Set<ControlPeer>();
  const admit = ownerOnlyGate({ ownerUid: opts.ownerUid, log });
  let nextId = 1;

  const server = createServer((socket) => {
    const peer = new ControlPeer(nextId++, socket, limits, (m) => log(LogLevel.WARN, m));
    peers.add(peer);
    peer.onClose(() => peers.delete(peer));
    log(LogLevel.DEBUG, `client ${peer.id} connected`);
    const refusal = admit(socket, peer.id);
    if (refusal !== undefined) {
      // Nothing it sends is read: its bytes are discarded while the one answer is flushed.
      socket.on('error', (err: NodeJS.ErrnoException) => log(LogLevel.DEBUG, `client ${peer.id}: ${err.code ?? err.message}`));
      socket.resume();
      peer.end(errorResponse(null, refusal.code, refusal.message));
      return;
    }
    serveConnection(socket, peer, { handlers: opts.handlers, hello, log });
  });
  // A listening server has no other error to report than ones from accept(); log, keep serving.
  server.on('error', (err) => log(LogLevel.ERROR, `control server: ${err.message}`));

  await listen(server, opts.socketPath);
  try {
    await chmod(opts.socketPath, SOCKET_MODE);
  } catch (err) {
    server.close();
    throw new SkiffError(ErrorCode.IO, `cannot restrict the control socket ${opts.socketPath}: ${(err as Error).message}`, { cause: err, path: opts.socketPath });
  }
  log(LogLevel.INFO, `listening on ${opts.socketPath}`);

  let closing: Promise<void> | undefined;
  return {
    clients: () => peers.size,
    close() {
      closing ??= closeServer(server, peers, opts.socketPath);
      return closing;
    },
  };
}

function listen(server: Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'it is in use (another skiffd?)' : err.message;
      reject(new SkiffError(ErrorCode.IO, `cannot listen on ${socketPath}: ${why}`, { cause: err, path: socketPath }));
    };
    server.once('error', onError);
    server.listen(socketPath, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function closeServer(server: Server, peers: Set<ControlPeer>, socketPath: string): Promise<void> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  const gone = [...peers].map((peer) => new Promise<void>((resolve) => peer.onClose(resolve)));
  for (const peer of peers) peer.end();
  await Promise.all([stopped, ...gone]);
  // libuv removes the socket file when the server closes; this covers the platforms that do not.
  await unlink(socketPath).catch(() => {});
}

interface ConnectionContext {
  handlers: ControlHandlers;
  hello: HelloResult;
  log: ControlLog;
}

/** Reads one connection's lines and answers them; owns its hello state. */
function serveConnection(socket: Socket, peer: ControlPeer, ctx: ConnectionContext): void {
  const splitter = new LineSplitter(MAX_LINE_BYTES);
  let greeted = false;

  socket.on('error', (err: NodeJS.ErrnoException) => ctx.log(LogLevel.DEBUG, `client ${peer.id}: ${err.code ?? err.message}`));
  socket.on('close', () => ctx.log(LogLevel.DEBUG, `client ${peer.id} disconnected`));
  socket.on('data', (chunk: Buffer) => {
    const { lines, overflow } = splitter.push(chunk);
    for (const line of lines) socketOnLine(line);
    if (overflow) {
      ctx.log(LogLevel.WARN, `client ${peer.id} sent a line over ${MAX_LINE_BYTES} bytes; closing it`);
      peer.end(malformedResponse(null, `line longer than ${MAX_LINE_BYTES} bytes; closing the connection`));
      socket.pause();
    }
  });

  function socketOnLine(line: string): void {
    if (peer.closed) return;
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      peer.respond(malformedResponse(parsed.id, parsed.message));
      return;
    }
    const request = parsed.value;
    if (!greeted) {
      answerHello(request);
      return;
    }
    void dispatch(request);
  }

  function answerHello(request: ControlRequest): void {
    if (request.method !== BuiltinMethod.HELLO) {
      peer.respond(errorResponse(request.id, ErrorCode.PROTOCOL_STATE, `the first request must be "hello", got ${JSON.stringify(request.method)}`));
      return;
    }
    const params = parseHelloParams(request.params);
    if (params === undefined) {
      peer.respond(malformedResponse(request.id, 'hello needs params {protocol: integer, version: string}'));
      return;
    }
    if (params.protocol !== ctx.hello.protocol) {
      ctx.log(LogLevel.INFO, `client ${peer.id} speaks control protocol ${params.protocol} (skiff ${params.version}); refused`);
      peer.end(errorResponse(request.id, ErrorCode.PROTOCOL_VERSION, protocolMismatchMessage(ctx.hello, params)));
      return;
    }
    greeted = true;
    peer.respond(okResponse(request.id, ctx.hello));
  }

  /** Never rejects: whatever the handler does becomes a response. */
  async function dispatch(request: ControlRequest): Promise<void> {
    try {
      const result = await call(request);
      peer.respond(okResponse(request.id, result));
    } catch (err) {
      const e = wireErrorOf(err);
      // An INTERNAL error is a bug in a handler: its original stack is what helps.
      if (e.code === ErrorCode.INTERNAL) ctx.log(LogLevel.ERROR, `method ${request.method}: ${(err instanceof Error && err.stack) || e.message}`);
      peer.respond(errorResponse(request.id, e.code, e.message));
    }
  }

  async function call(request: ControlRequest): Promise<unknown> {
    switch (request.method) {
      case BuiltinMethod.HELLO:
        throw new SkiffError(ErrorCode.PROTOCOL_STATE, 'hello was already exchanged on this connection');
      case BuiltinMethod.PING:
        return { pid: process.pid, time: Date.now() };
    }
    const handler = Object.hasOwn(ctx.handlers, request.method) ? ctx.handlers[request.method] : undefined;
    if (handler === undefined) {
      const methods = [...Object.values(BuiltinMethod), ...Object.keys(ctx.handlers)].sort().join(', ');
      throw new SkiffError(ErrorCode.USAGE, `unknown method ${JSON.stringify(request.method)}; methods: ${methods}`);
    }
    return handler(request.params ?? {}, peer);
  }
}

/**
 * The code and message a thrown value travels as. An error carrying a known
 * SKIFF_E_ code keeps it even when it is not this copy's SkiffError (a
 * bundle may hold two copies of the protocol package).
 */
function wireErrorOf(err: unknown): { code: ErrorCode; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof Error && isErrorCode(code)) return { code, message: err.message };
  return asSkiffError(err);
}
