import type { Socket } from 'node:net';
import { ControlEvent, MAX_LINE_BYTES, encodeMessage, encodeResponse, type ControlResponse } from './wire.ts';

/**
 * The daemon's side of one control connection: what it may write and when.
 *
 * Invariant: nothing a client does (stop reading, vanish, read slowly) can
 * make the daemon wait or grow its memory without bound. Writes never block
 * (a socket write only queues); the queue of one client is capped at
 * `maxBufferedBytes` for events: past it, events for that client are
 * dropped and counted; when its queue has fully drained, it gets one
 * `lagged` event with the count and events flow again. A queue that is still
 * over the cap after `stallMs` belongs to a client that stopped reading, and
 * it is disconnected. Responses are never dropped (a request would hang);
 * they are bounded by the requests the client itself sends.
 */

export interface PeerLimits {
  /** Bytes queued for one client past which its events are dropped. */
  maxBufferedBytes: number;
  /** How long a client's queue may stay over the cap before it is disconnected. */
  stallMs: number;
  /** How long a closing connection may take to flush before it is destroyed. */
  closeGraceMs: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
  maxBufferedBytes: 8 * 1024 * 1024,
  stallMs: 30_000,
  closeGraceMs: 1_000,
};

/** What the session code sees of a connected terminal. */
export interface ControlClient {
  readonly id: number;
  /** Queues an event for this client; never blocks, never throws. */
  emit(event: string, data: unknown): void;
  /** Runs once the connection is gone (at once if it already is). */
  onClose(cb: () => void): void;
  readonly closed: boolean;
}

export type PeerNotice = (message: string) => void;

export class ControlPeer implements ControlClient {
  private closeCallbacks: (() => void)[] = [];
  private isClosed = false;
  /** Events dropped since the queue last passed the cap; 0 when not lagging. */
  private dropped = 0;
  private lagging = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  /**
   * The cap actually applied: never below the socket's high-water mark, so the
   * write that crosses it has returned false and a 'drain' is sure to follow.
   */
  private readonly cap: number;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly limits: PeerLimits,
    private readonly notice: PeerNotice,
  ) {
    this.cap = Math.max(limits.maxBufferedBytes, socket.writableHighWaterMark);
    socket.on('drain', () => this.socketOnDrain());
    socket.once('close', () => this.socketOnClose());
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes waiting in this client's queue. */
  get buffered(): number {
    return this.socket.writableLength;
  }

  emit(event: string, data: unknown): void {
    if (!this.writable()) return;
    if (this.lagging || this.socket.writableLength > this.cap) {
      this.startLagging();
      this.dropped += 1;
      return;
    }
    let line: string;
    try {
      line = encodeMessage({ event, data });
    } catch (err) {
      this.notice(`client ${this.id}: event ${JSON.stringify(event)} is not serialisable (${(err as Error).message}); not sent`);
      return;
    }
    if (Buffer.byteLength(line) > MAX_LINE_BYTES + 1) {
      this.notice(`client ${this.id}: event ${JSON.stringify(event)} is larger than ${MAX_LINE_BYTES} bytes; not sent`);
      return;
    }
    this.socket.write(line);
  }

  /** Writes a response; always queued, whatever the lag (see the invariant above). */
  respond(response: ControlResponse): void {
    if (!this.writable()) return;
    this.socket.write(encodeResponse(response));
  }

  /** Sends a last message, then closes once it is flushed (or after the grace period). */
  end(last?: ControlResponse): void {
    if (this.isClosed) return;
    if (last !== undefined && this.writable()) this.socket.end(encodeResponse(last));
    else this.socket.end();
    this.armCloseTimer();
  }

  destroy(): void {
    this.socket.destroy();
  }

  onClose(cb: () => void): void {
    if (this.isClosed) {
      runCallback(cb, this.notice, this.id);
      return;
    }
    this.closeCallbacks.push(cb);
  }

  private writable(): boolean {
    return !this.isClosed && this.socket.writable && !this.socket.writableEnded;
  }

  private startLagging(): void {
    if (this.lagging) return;
    this.lagging = true;
    this.armStallTimer();
  }

  private armStallTimer(): void {
    this.stallTimer = setTimeout(() => this.stallTimerFired(), this.limits.stallMs);
    this.stallTimer.unref();
  }

  /**
   * While lagging no events are queued, so the queue only shrinks: finding it
   * still over the cap now means it was over the cap the whole period.
   */
  private stallTimerFired(): void {
    this.stallTimer = undefined;
    if (this.isClosed || !this.lagging) return;
    if (this.socket.writableLength > this.cap) {
      this.notice(`client ${this.id}: ${this.socket.writableLength} bytes unread for ${this.limits.stallMs} ms; disconnecting it`);
      this.socket.destroy();
      return;
    }
    this.armStallTimer();
  }

  /** 'drain' fires when the queue is empty again: the client caught up. */
  private socketOnDrain(): void {
    if (!this.lagging || this.isClosed) return;
    const dropped = this.dropped;
    this.lagging = false;
    this.dropped = 0;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.emit(ControlEvent.LAGGED, { dropped });
  }

  private armCloseTimer(): void {
    if (this.closeTimer !== undefined) return;
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.limits.closeGraceMs);
    this.closeTimer.unref();
  }

  private socketOnClose(): void {
    this.isClosed = true;
    clearTimeout(this.stallTimer);
    clearTimeout(this.closeTimer);
    const callbacks = this.closeCallbacks;
    this.closeCallbacks = [];
    for (const cb of callbacks) runCallback(cb, this.notice, this.id);
  }
}

/** A close callback belongs to session code; its failure is reported, never thrown into the socket. */
function runCallback(cb: () => void, notice: PeerNotice, id: number): void {
  try {
    const r = cb() as unknown;
    if (r instanceof Promise) r.catch((err: unknown) => notice(`client ${id}: close callback failed: ${(err as Error)?.message ?? String(err)}`));
  } catch (err) {
    notice(`client ${id}: close callback failed: ${(err as Error)?.message ?? String(err)}`);
  }
}
