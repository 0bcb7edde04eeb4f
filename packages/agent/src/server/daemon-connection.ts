import {
  Capability,
  ErrorCode,
  FramePacker,
  KIND_NAMES,
  Kind,
  PROTOCOL_VERSION,
  SKIFF_VERSION,
  SkiffError,
  asSkiffError,
  decodeFrames,
  encodeFrame,
  encodeInventory,
  type AppSpecHeader,
  type ErrorHeader,
  type Frame,
  type Hasher,
  type HelloHeader,
} from '@skiff/protocol';
import { WebSocket, type RawData } from 'ws';
import { Batch, type BatchOutcome } from '../apply/batch.ts';
import { loadFastFiles, type MessageTarget } from '../apply/fast-files.ts';
import type { FsOps } from '../apply/fs-ops.ts';
import { isEmptyRoot } from '../apply/stage.ts';
import type { AppHooks } from '../hooks.ts';
import type { Manifest } from '../manifest/manifest.ts';
import { appEventsTo } from './app-forward.ts';
import { appliedHeader } from './applied.ts';
import { CloseCode, closeCodeFor } from './close-codes.ts';

/** What a connection shares with the agent: the root and its manifest, the supervisor, settings. */
export interface DaemonConnectionDeps {
  readonly root: string;
  readonly manifest: Manifest;
  readonly fs: FsOps;
  /** Hashes files that arrive in pieces, so that a delta's result is checked before it replaces its base. */
  readonly hasher: Hasher;
  readonly hooks: AppHooks;
  readonly capabilities: readonly string[];
  /** Interval of the liveness check (HEARTBEAT_MS unless a test shortens it). */
  readonly heartbeatMs: number;
  readonly log: (line: string) => void;
  /** Called once when the connection has ended, however it ended. */
  readonly onEnd: (connection: DaemonConnection) => void;
  /** Called after each committed batch, before the app hears of it. */
  readonly onCommitted?: (outcome: BatchOutcome) => void;
}

export const ConnectionState = {
  AWAITING_HELLO: 'awaiting-hello',
  READY: 'ready',
  CLOSING: 'closing',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** How long a closing peer gets to answer the close handshake before its socket is destroyed. */
export const CLOSE_GRACE_MS = 2_000;
/**
 * A peer that neither sends anything nor answers a ping for this long is gone
 * (a half-open TCP connection): it is dropped, which aborts its open batch and
 * removes its temporary files. `ws` peers answer pings on their own.
 */
export const HEARTBEAT_MS = 30_000;
/** Close reasons are limited to 123 bytes by the websocket protocol. */
const MAX_CLOSE_REASON = 120;

export const AGENT_SOFTWARE = `skiff-agent/${SKIFF_VERSION}`;
/** What every agent announces; one that supervises an app adds Capability.SUPERVISOR and Capability.APP_SPEC. */
export const AGENT_CAPABILITIES: readonly string[] = [Capability.ATOMIC_WRITE, Capability.SYMLINKS, Capability.COPY, Capability.SPANS];

/**
 * One daemon connection, from the agent's HELLO to the close.
 *
 * States: the agent speaks first (HELLO with its manifest digest), then waits
 * for the daemon's HELLO; anything else first, a second HELLO, a frame of a
 * batch that is not open, or a kind only the agent sends is a protocol state
 * error. Every error that ends the connection is reported as an ERROR frame
 * with its stable code, then the connection closes; a failure on one path
 * never ends it (it is a Problem in APPLIED). An APP_SPEC may come at any
 * time after the daemon's HELLO; one that comes inside a batch is held and
 * handed over with that batch's commit (or when the batch is dropped), so
 * that it never restarts the app on half a batch and folds with the batch
 * into one restart.
 *
 * Frames are handled synchronously, one message at a time, in arrival order:
 * the apply step is synchronous, so no two messages ever interleave and a
 * batch aborted on close cannot race a write in flight.
 */
export class DaemonConnection {
  private state: ConnectionState = ConnectionState.AWAITING_HELLO;
  private batch: Batch | null = null;
  private unsubscribe: (() => void) | null = null;
  /** An APP_SPEC that came while a batch was open, for that batch's end. */
  private heldSpec: AppSpecHeader | null = null;
  private ended = false;
  /** Set by any sign of life from the peer; checked and cleared at each heartbeat. */
  private alive = true;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: DaemonConnectionDeps,
    /** For log lines: which connection this is. */
    readonly label: string,
  ) {}

  start(): void {
    this.ws.on('message', (data, isBinary) => this.socketOnMessage(data, isBinary));
    this.ws.on('close', (code, reason) => this.socketOnClose(code, reason.toString()));
    this.ws.on('error', (err) => this.deps.log(`${this.label}: ${err.message}`));
    this.ws.on('pong', () => {
      this.alive = true;
    });
    this.heartbeat = setInterval(() => this.socketHeartbeat(), this.deps.heartbeatMs);
    this.heartbeat.unref();
    const hello: HelloHeader = {
      protocol: PROTOCOL_VERSION,
      software: AGENT_SOFTWARE,
      root: this.deps.root,
      capabilities: [...this.deps.capabilities],
      digest: this.deps.manifest.digest,
      entries: this.deps.manifest.size,
    };
    this.send(encodeFrame(Kind.HELLO, hello));
  }

  /** Ends the connection without an error: the agent stops, or a newer daemon took over. */
  close(code: CloseCode, reason: string): void {
    if (this.state === ConnectionState.CLOSING) return;
    this.state = ConnectionState.CLOSING;
    this.release();
    this.ws.close(code, reason.slice(0, MAX_CLOSE_REASON));
    const timer = setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS);
    timer.unref();
    this.ws.once('close', () => clearTimeout(timer));
  }

  private socketHeartbeat(): void {
    if (!this.alive) {
      this.deps.log(`${this.label}: no sign of life for ${this.deps.heartbeatMs} ms, dropping the connection`);
      this.state = ConnectionState.CLOSING;
      this.release();
      this.ws.terminate();
      return;
    }
    this.alive = false;
    try {
      this.ws.ping();
    } catch (err) {
      this.deps.log(`${this.label}: ping failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private socketOnMessage(data: RawData, isBinary: boolean): void {
    this.alive = true;
    if (this.state === ConnectionState.CLOSING) return;
    try {
      if (!isBinary) {
        this.fail(new SkiffError(ErrorCode.FRAME_MALFORMED, 'text messages are not part of the protocol'), CloseCode.UNSUPPORTED_DATA);
        return;
      }
      const bytes = toBytes(data);
      if (fastFiles !== null) {
        fastFiles.apply(bytes, this.messageTarget);
        return;
      }
      for (const frame of decodeFrames(bytes)) {
        if (this.isClosing()) return;
        this.handle(frame);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** What FastFiles applies a message to. */
  private readonly messageTarget: MessageTarget = {
    handle: (frame) => this.handle(frame),
    stagedBatch: (id) => (this.batch !== null && this.batch.id === id && this.batch.nativeStage !== null ? this.batch : null),
    isClosing: () => this.isClosing(),
  };

  private isClosing(): boolean {
    return this.state === ConnectionState.CLOSING;
  }

  private socketOnClose(code: number, reason: string): void {
    clearInterval(this.heartbeat);
    this.state = ConnectionState.CLOSING;
    this.release();
    if (this.ended) return;
    this.ended = true;
    this.deps.log(`${this.label}: closed (${code}${reason ? ` ${reason}` : ''})`);
    this.deps.onEnd(this);
  }

  private handle(frame: Frame): void {
    if (this.state === ConnectionState.AWAITING_HELLO && frame.kind !== Kind.HELLO) {
      throw stateError(`${KIND_NAMES[frame.kind]} before the daemon's HELLO`);
    }
    switch (frame.kind) {
      case Kind.HELLO:
        return this.onHello(frame.header);
      case Kind.INVENTORY_REQUEST:
        return this.sendInventory();
      case Kind.BATCH_BEGIN:
        if (this.batch !== null) throw stateError(`BATCH_BEGIN ${frame.header.batch} while batch ${this.batch.id} is open`);
        this.batch = new Batch(frame.header.batch, this.deps.root, this.deps.manifest, this.deps.fs, { staged: this.canStage(), hasher: this.deps.hasher });
        return;
      case Kind.FILE:
        return this.openBatch(frame.header.batch, 'FILE').file(frame.header, frame.payload);
      case Kind.COPY:
        return this.openBatch(frame.header.batch, 'COPY').copy(frame.header);
      case Kind.SPAN:
        return this.openBatch(frame.header.batch, 'SPAN').span(frame.header);
      case Kind.SYMLINK:
        return this.openBatch(frame.header.batch, 'SYMLINK').symlink(frame.header);
      case Kind.MKDIR:
        return this.openBatch(frame.header.batch, 'MKDIR').mkdir(frame.header);
      case Kind.DELETE:
        return this.openBatch(frame.header.batch, 'DELETE').delete(frame.header);
      case Kind.COMMIT:
        return this.commit(frame.header.batch);
      case Kind.APP_SPEC:
        return this.onAppSpec(frame.header);
      case Kind.ERROR:
        this.deps.log(`${this.label}: the daemon reported ${frame.header.code}: ${frame.header.message}`);
        return;
      default:
        throw stateError(`${KIND_NAMES[frame.kind]} is sent by the agent, never to it`);
    }
  }

  private onHello(h: HelloHeader): void {
    if (this.state !== ConnectionState.AWAITING_HELLO) throw stateError('a second HELLO');
    if (h.protocol !== PROTOCOL_VERSION) {
      throw new SkiffError(
        ErrorCode.PROTOCOL_VERSION,
        `the daemon (${h.software}) speaks protocol ${h.protocol}, this agent (${AGENT_SOFTWARE}) speaks ${PROTOCOL_VERSION}; install matching versions`,
      );
    }
    this.state = ConnectionState.READY;
    this.deps.log(`${this.label}: daemon ${h.software} said hello`);
    const outlet = { send: (frame: Uint8Array) => this.send(frame), backlog: () => this.ws.bufferedAmount };
    try {
      this.unsubscribe = this.deps.hooks.subscribe(appEventsTo(outlet, (line) => this.deps.log(`${this.label}: ${line}`)));
    } catch (err) {
      // Files still sync without app events: the connection goes on.
      this.deps.log(`${this.label}: could not subscribe to app events: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private onAppSpec(spec: AppSpecHeader): void {
    if (this.deps.hooks.applySpec === undefined) {
      // Not announced, so not expected; an agent without an app has no use for it.
      this.deps.log(`${this.label}: ignored an app spec: this agent supervises no app`);
      return;
    }
    if (this.batch !== null) this.heldSpec = spec;
    else this.handOverSpec(spec);
  }

  private handOverSpec(spec: AppSpecHeader): void {
    const applySpec = this.deps.hooks.applySpec;
    if (applySpec === undefined) return;
    try {
      applySpec.call(this.deps.hooks, spec);
    } catch (err) {
      this.deps.log(`${this.label}: the app supervisor failed on an app spec: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A batch into a root that holds nothing (a first sync) is staged: see apply/stage.ts. */
  private canStage(): boolean {
    if (this.deps.manifest.size !== 0) return false;
    try {
      return isEmptyRoot(this.deps.root, this.deps.fs);
    } catch {
      return false;
    }
  }

  private openBatch(id: number, kindName: string): Batch {
    if (this.batch === null) throw stateError(`${kindName} for batch ${id}, which was never begun`);
    if (this.batch.id !== id) throw stateError(`${kindName} for batch ${id} while batch ${this.batch.id} is open`);
    return this.batch;
  }

  private commit(id: number): void {
    const batch = this.openBatch(id, 'COMMIT');
    this.batch = null;
    const outcome = batch.commit();
    const { manifest } = this.deps;
    this.send(encodeFrame(Kind.APPLIED, appliedHeader(id, outcome, manifest.digest, manifest.size)));
    try {
      this.deps.onCommitted?.(outcome);
    } catch (err) {
      this.deps.log(`${this.label}: after batch ${id}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.releaseHeldSpec();
    try {
      this.deps.hooks.committed({ batch: id, paths: outcome.paths });
    } catch (err) {
      this.deps.log(`${this.label}: the app supervisor failed on batch ${id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private releaseHeldSpec(): void {
    const spec = this.heldSpec;
    this.heldSpec = null;
    if (spec !== null) this.handOverSpec(spec);
  }

  private sendInventory(): void {
    const packer = new FramePacker();
    for (const frame of encodeInventory(this.deps.manifest.entries())) {
      const message = packer.push(frame);
      if (message !== null) this.send(message);
    }
    const rest = packer.flush();
    if (rest !== null) this.send(rest);
  }

  /** Reports what ended the connection to the peer, then closes. */
  private fail(err: unknown, code?: CloseCode): void {
    const e = asSkiffError(err);
    if (e.code === ErrorCode.INTERNAL) this.deps.log(`${this.label}: internal error: ${e.stack ?? e.message}`);
    else this.deps.log(`${this.label}: ${e.code}: ${e.message}`);
    const header: ErrorHeader = { code: e.code, message: e.message };
    if (e.path !== undefined) header.path = e.path;
    if (this.batch !== null) header.batch = this.batch.id;
    try {
      this.send(encodeFrame(Kind.ERROR, header));
    } catch {
      // An ERROR too large to encode (a huge message): the close code still tells.
      this.send(encodeFrame(Kind.ERROR, { code: e.code, message: e.message.slice(0, 1000) }));
    }
    this.close(code ?? closeCodeFor(e.code), e.code);
  }

  private send(message: Uint8Array): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(message, { binary: true });
  }

  /** Drops the open batch (no temporary file survives) and stops app events. */
  private release(): void {
    this.batch?.abort();
    this.batch = null;
    this.releaseHeldSpec();
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    try {
      unsubscribe?.();
    } catch (err) {
      this.deps.log(`${this.label}: could not unsubscribe from app events: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** Loaded once: without the addon every message is decoded and applied in JavaScript. */
const fastFiles = loadFastFiles();

function stateError(message: string): SkiffError {
  return new SkiffError(ErrorCode.PROTOCOL_STATE, message);
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
