import WebSocket from 'ws';
import {
  appSpecProblem,
  bearer,
  Capability,
  decodeFrames,
  decodeInventoryPage,
  encodeFrame,
  ErrorCode,
  Kind,
  MAX_WS_PAYLOAD_BYTES,
  normaliseAppSpec,
  PROTOCOL_VERSION,
  SKIFF_VERSION,
  SkiffError,
  asSkiffError,
  type AppliedHeader,
  type AppSpec,
  type AppStatusHeader,
  type Entry,
  type Frame,
  type HelloHeader,
  type LogHeader,
} from '@skiff/protocol';

/** Bytes handed to the socket but not yet written out, above which `send` waits. */
export const HIGH_WATER_BYTES = 16 * 1024 * 1024;
/** How long the handshake may take once the TCP connection is up. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface AgentClientEvents {
  appStatus?(status: AppStatusHeader): void;
  log?(header: LogHeader, data: Uint8Array): void;
  /** The connection ended; `error` says why when it was not our own close. */
  closed?(error: SkiffError | null): void;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: SkiffError): void;
}

/**
 * The daemon's end of one websocket to an agent. It performs the handshake,
 * answers request/response exchanges (inventory, commit → applied) and keeps
 * writes flowing under a bound on unacknowledged bytes, so a slow agent slows
 * the sender instead of filling memory.
 */
export class AgentClient {
  readonly hello: HelloHeader;
  private readonly ws: WebSocket;
  private inflight = 0;
  private drainWaiters: Array<() => void> = [];
  private inventoryWaiter: (Waiter<Entry[]> & { pages: Entry[] }) | null = null;
  private appliedWaiters = new Map<number, Waiter<AppliedHeader>>();
  private failure: SkiffError | null = null;
  private closedByUs = false;

  private constructor(ws: WebSocket, hello: HelloHeader, private readonly events: AgentClientEvents) {
    this.ws = ws;
    this.hello = hello;
    ws.on('message', (data: Buffer) => this.socketOnMessage(data));
    ws.on('close', (code, reason) => this.socketOnClose(code, reason.toString()));
    ws.on('error', (err) => this.fail(new SkiffError(ErrorCode.CONNECTION_LOST, `connection to the agent failed: ${err.message}`, { cause: err })));
  }

  /** Opens, authenticates and completes the handshake; rejects with a SkiffError. */
  static connect(url: string, token: string, events: AgentClientEvents = {}): Promise<AgentClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers: { authorization: bearer(token) },
        maxPayload: MAX_WS_PAYLOAD_BYTES,
        perMessageDeflate: false,
        // Masking guards browsers against proxy cache poisoning; this link is
        // token-authenticated daemon-to-agent, and unmasking costs the agent
        // about 1 s of CPU per 300 MB, so the mask is all zeroes.
        generateMask: (mask: Buffer) => mask.fill(0),
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      });
      const timer = setTimeout(() => done(new SkiffError(ErrorCode.TIMEOUT, `the agent at ${url} did not say hello within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
      let settled = false;
      const done = (err: SkiffError | null, client?: AgentClient) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.off('message', onFirst);
        if (err) {
          ws.terminate();
          reject(err);
        } else resolve(client!);
      };
      ws.on('unexpected-response', (_req, res) => {
        const code = res.statusCode === 401 ? ErrorCode.AUTH : ErrorCode.CONNECTION_LOST;
        done(new SkiffError(code, res.statusCode === 401 ? `the agent at ${url} refused the token (HTTP 401)` : `the agent at ${url} answered HTTP ${res.statusCode}`));
      });
      ws.on('error', (err) => done(new SkiffError(ErrorCode.CONNECTION_LOST, `cannot reach the agent at ${url}: ${err.message}`, { cause: err })));
      const onFirst = (data: Buffer) => {
        try {
          const [frame] = decodeFrames(data);
          if (frame.kind === Kind.ERROR) throw new SkiffError(frame.header.code, `agent: ${frame.header.message}`);
          if (frame.kind !== Kind.HELLO) throw new SkiffError(ErrorCode.PROTOCOL_STATE, `expected HELLO from the agent, got kind ${frame.kind}`);
          if (frame.header.protocol !== PROTOCOL_VERSION) {
            throw new SkiffError(
              ErrorCode.PROTOCOL_VERSION,
              `the agent speaks protocol ${frame.header.protocol} (${frame.header.software}), this daemon speaks ${PROTOCOL_VERSION} (skiff ${SKIFF_VERSION}): run the same skiff version on both sides`,
            );
          }
          ws.send(encodeFrame(Kind.HELLO, { protocol: PROTOCOL_VERSION, software: `skiffd/${SKIFF_VERSION}` }));
          done(null, new AgentClient(ws, frame.header, events));
        } catch (err) {
          done(asSkiffError(err, ErrorCode.PROTOCOL_STATE));
        }
      };
      ws.on('message', onFirst);
    });
  }

  /**
   * Sends one message, waiting first while too many bytes are unacknowledged.
   * `written` runs once the socket no longer needs the message's bytes
   * (written out or failed), so its buffer may be reused. While it waits,
   * `meanwhile` is called for small steps of other work (each returns
   * whether more is left), the event loop turning between them so the
   * socket's progress is seen: time the agent being behind would leave idle.
   */
  async send(message: Uint8Array, written?: () => void, meanwhile?: () => boolean): Promise<void> {
    await this.waitForInflight(HIGH_WATER_BYTES, meanwhile);
    const size = message.length;
    this.inflight += size;
    this.ws.send(message, (err) => {
      this.inflight -= size;
      written?.();
      if (err) this.fail(new SkiffError(ErrorCode.CONNECTION_LOST, `sending to the agent failed: ${err.message}`, { cause: err }));
      // Waiters look again at what they wait for (below the high water, or nothing left).
      if (this.inflight <= HIGH_WATER_BYTES) this.wakeDrainWaiters();
    });
  }

  /**
   * Resolves once every message sent is written out to the socket (the
   * kernel holds the rest): synchronous work after that no longer keeps
   * queued bytes from the agent. `meanwhile` as for send().
   */
  async written(meanwhile?: () => boolean): Promise<void> {
    await this.waitForInflight(0, meanwhile);
  }

  private async waitForInflight(most: number, meanwhile?: () => boolean): Promise<void> {
    while (this.inflight > most && this.failure === null) {
      if (meanwhile?.()) await new Promise<void>((resolve) => setImmediate(resolve));
      else await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  /** Asks the agent for everything its root holds. */
  async inventory(): Promise<Entry[]> {
    if (this.inventoryWaiter) throw new SkiffError(ErrorCode.PROTOCOL_STATE, 'an inventory request is already pending');
    const result = new Promise<Entry[]>((resolve, reject) => {
      this.inventoryWaiter = { resolve, reject, pages: [] };
    });
    await this.send(encodeFrame(Kind.INVENTORY_REQUEST, {}));
    return result;
  }

  /**
   * Sends the app spec the agent runs from now on (APP_SPEC); the agent
   * restarts its app once when it differs from the one it has, and does
   * nothing when it is equal. Resolves false, sending nothing, when the agent
   * does not announce Capability.APP_SPEC (an older agent would end the
   * connection on an unknown kind): it keeps the spec it was started with.
   * Throws SKIFF_E_CONFIG for a value that is not an app spec.
   */
  async sendAppSpec(spec: AppSpec): Promise<boolean> {
    const problem = appSpecProblem(spec);
    if (problem !== null) {
      throw new SkiffError(ErrorCode.CONFIG, `the app spec's "${problem.field}" must be ${problem.expected}, got ${JSON.stringify(problem.value)}`);
    }
    if (!(this.hello.capabilities ?? []).includes(Capability.APP_SPEC)) return false;
    await this.send(encodeFrame(Kind.APP_SPEC, normaliseAppSpec(spec)));
    return true;
  }

  /** Resolves with the agent's APPLIED for `batch` (register before sending COMMIT). */
  applied(batch: number): Promise<AppliedHeader> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.appliedWaiters.set(batch, { resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.closedByUs = true;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000, 'done');
      setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 1000).unref();
    });
  }

  private socketOnMessage(data: Buffer): void {
    let frames: Frame[];
    try {
      frames = decodeFrames(data);
    } catch (err) {
      this.fail(asSkiffError(err, ErrorCode.FRAME_MALFORMED));
      this.ws.terminate();
      return;
    }
    for (const frame of frames) this.handleFrame(frame);
  }

  private handleFrame(frame: Frame): void {
    switch (frame.kind) {
      case Kind.INVENTORY: {
        const waiter = this.inventoryWaiter;
        if (!waiter) return;
        try {
          waiter.pages.push(...decodeInventoryPage(frame.payload));
        } catch (err) {
          this.inventoryWaiter = null;
          waiter.reject(asSkiffError(err, ErrorCode.FRAME_MALFORMED));
          return;
        }
        if (frame.header.last) {
          this.inventoryWaiter = null;
          waiter.resolve(waiter.pages);
        }
        return;
      }
      case Kind.APPLIED: {
        const waiter = this.appliedWaiters.get(frame.header.batch);
        this.appliedWaiters.delete(frame.header.batch);
        waiter?.resolve(frame.header);
        return;
      }
      case Kind.ERROR: {
        const err = new SkiffError(frame.header.code, `agent: ${frame.header.message}`, { path: frame.header.path });
        const batchWaiter = frame.header.batch === undefined ? undefined : this.appliedWaiters.get(frame.header.batch);
        if (batchWaiter) {
          this.appliedWaiters.delete(frame.header.batch!);
          batchWaiter.reject(err);
        } else this.fail(err);
        return;
      }
      case Kind.APP_STATUS:
        this.events.appStatus?.(frame.header);
        return;
      case Kind.LOG:
        this.events.log?.(frame.header, frame.payload);
        return;
      default:
        // Kinds that only travel daemon → agent are ignored rather than trusted.
        return;
    }
  }

  private socketOnClose(code: number, reason: string): void {
    if (!this.closedByUs) {
      this.fail(new SkiffError(ErrorCode.CONNECTION_LOST, `the agent closed the connection (${code}${reason ? `: ${reason}` : ''})`));
    }
    this.events.closed?.(this.closedByUs ? null : this.failure);
  }

  /** Records the first failure and rejects everything that waits. */
  private fail(err: SkiffError): void {
    if (this.failure) return;
    this.failure = err;
    this.inventoryWaiter?.reject(err);
    this.inventoryWaiter = null;
    for (const waiter of this.appliedWaiters.values()) waiter.reject(err);
    this.appliedWaiters.clear();
    this.wakeDrainWaiters();
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
