import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Kubelet } from './kubelet.ts';
import { POD } from './resources.ts';
import { isRecord } from './shapes.ts';
import { badRequest, failure, type KubeStatusError } from './status.ts';
import type { ObjectStore } from './store.ts';
import { StatusReason } from './vocabulary.ts';

/**
 * Port-forward over a websocket, framed as the kubelet's v4 protocol
 * (`v4.channel.k8s.io`): every binary message starts with a channel byte;
 * for the i-th requested port, channel 2i carries data both ways and 2i+1
 * carries errors from the server. The server's first message on each of a
 * port's two channels is the port number, 2 bytes little-endian. Each port
 * gets one TCP connection to where the pod's port is on this machine (see
 * PodWorker.portTarget), made as soon as the websocket opens; a connection
 * that fails writes `error forwarding port ...` on the error channel. When
 * every port's connection has ended, the websocket closes (code 1000), as
 * the kubelet's does. Data sent before a connection is up is queued.
 *
 * Flow control, which the real protocol lacks beyond TCP's: the TCP side is
 * paused while too much is queued towards the websocket, and the websocket
 * while the TCP side does not drain.
 *
 * Only the binary protocol is served (`v4.base64.channel.k8s.io` and the
 * SPDY transport are not). Tests hold every open session (PortForwardSession)
 * and may drop it (no close frame: the client sees 1006), close it cleanly,
 * or write an error on its error channel.
 */

export const V4_PROTOCOL = 'v4.channel.k8s.io';
/** Bytes queued towards the websocket above which the pod's side is paused. */
export const WS_HIGH_WATER_BYTES = 1024 * 1024;

export interface PortForwardSession {
  readonly id: number;
  readonly namespace: string;
  readonly pod: string;
  readonly ports: readonly number[];
  /** The subprotocol agreed ('' when the client offered none). */
  readonly protocol: string;
  bytesToPod: number;
  bytesFromPod: number;
  /** Resolves when the websocket has closed, for whatever reason. */
  readonly closed: Promise<void>;
  /** Ends the websocket without a close frame, as a dropped connection does. */
  drop(): void;
  /** Closes the websocket with a close frame. */
  close(code?: number, reason?: string): void;
  /** Writes `message` on the error channel of the port at `portIndex` (default 0); closes the websocket after it when `close`. */
  sendError(message: string, opts?: { portIndex?: number; close?: boolean }): void;
}

/**
 * The `ports` query parameter, repeated for several ports (`?ports=80&ports=443`),
 * as the API server's PodPortForwardOptions decodes it; one integer per value.
 */
function parsePorts(query: URLSearchParams): number[] {
  const raw = query.getAll('ports');
  if (raw.length === 0) throw badRequest('at least one port must be given: the "ports" query parameter is required');
  return raw.map((s) => {
    const n = /^\d{1,5}$/.test(s) ? Number(s) : NaN;
    if (Number.isNaN(n)) throw badRequest(`unable to parse "ports" query parameter: strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
    if (n < 1 || n > 65_535) throw badRequest(`invalid port ${n}: must be between 1 and 65535`);
    return n;
  });
}

function portPrefix(channel: number, port: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUInt8(channel, 0);
  b.writeUInt16LE(port, 1);
  return b;
}

export class PortForwarder {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (offered) => (offered.has(V4_PROTOCOL) ? V4_PROTOCOL : false) });
  private readonly sessions = new Set<PortForwardSession>();
  private readonly listeners = new Set<(s: PortForwardSession) => void>();
  private nextId = 1;

  constructor(
    private readonly store: ObjectStore,
    private readonly kubelet: Kubelet,
  ) {}

  /** Calls `listener` for every new session; returns the unsubscribe. */
  onSession(listener: (s: PortForwardSession) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  open(): PortForwardSession[] {
    return [...this.sessions];
  }

  /** Checks the request; throws a Status error for the HTTP layer to answer before any upgrade. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: { namespace: string; name: string }): void {
    const url = new URL(req.url ?? '/', 'https://fake-kube');
    const ports = parsePorts(url.searchParams);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (offered.length > 0 && !offered.includes(V4_PROTOCOL)) {
      throw badRequest(`unable to upgrade connection: requested protocol(s) are not supported: [${offered.join(' ')}]; supported protocols are [${V4_PROTOCOL}]`);
    }
    const pod = this.store.get(POD, target.namespace, target.name)!;
    const spec = isRecord(pod.spec) ? pod.spec : {};
    if (typeof spec.nodeName !== 'string' || spec.nodeName === '') throw badRequest(`pod ${target.name} does not have a host assigned`);
    const worker = this.kubelet.worker(target.namespace, target.name);
    if (worker === undefined || worker.uid !== pod.metadata.uid) {
      throw failure(404, StatusReason.NotFound, 'unable to upgrade connection: pod does not exist') as KubeStatusError;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, target, ports, worker.uid, (port) => worker.portTarget(port)));
  }

  private serve(ws: WebSocket, target: { namespace: string; name: string }, ports: number[], podUid: string, resolve: (port: number) => { port: number } | { error: string }): void {
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => (closedResolve = r));
    const conns: (Socket | undefined)[] = ports.map(() => undefined);
    const queued: Buffer[][] = ports.map(() => []);
    let pending = ports.length;
    let wsQueued = 0;
    const sandbox = podUid.replace(/-/g, '');

    const session: PortForwardSession = {
      id: this.nextId++,
      namespace: target.namespace,
      pod: target.name,
      ports,
      protocol: ws.protocol,
      bytesToPod: 0,
      bytesFromPod: 0,
      closed,
      drop: () => ws.terminate(),
      close: (code = 1000, reason = '') => ws.close(code, reason),
      sendError: (message, opts = {}) => {
        const i = opts.portIndex ?? 0;
        if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([2 * i + 1]), Buffer.from(message, 'utf8')]));
        if (opts.close) ws.close(1000);
      },
    };

    const portDone = () => {
      pending -= 1;
      if (pending === 0 && ws.readyState === ws.OPEN) ws.close(1000);
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (!isBinary || buf.length < 1) return;
      const channel = buf[0];
      if (channel % 2 !== 0 || channel / 2 >= ports.length) return; // only data channels carry client bytes
      const i = channel / 2;
      const payload = buf.subarray(1);
      if (payload.length === 0) return;
      session.bytesToPod += payload.length;
      const conn = conns[i];
      if (conn === undefined || conn.connecting) queued[i].push(payload);
      else if (!conn.write(payload)) {
        ws.pause();
        conn.once('drain', () => ws.resume());
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      for (const c of conns) c?.destroy();
      this.sessions.delete(session);
      closedResolve();
    });

    this.sessions.add(session);
    for (const l of [...this.listeners]) l(session);

    ports.forEach((port, i) => {
      ws.send(portPrefix(2 * i, port));
      ws.send(portPrefix(2 * i + 1, port));
      const fail = (why: string) => {
        if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([2 * i + 1]), Buffer.from(`error forwarding port ${port} to pod ${sandbox}, uid : ${why}`, 'utf8')]));
        portDone();
      };
      const where = resolve(port);
      if ('error' in where) return fail(where.error);
      const conn = connect({ host: '127.0.0.1', port: where.port });
      conns[i] = conn;
      let connected = false;
      conn.on('connect', () => {
        connected = true;
        for (const chunk of queued[i].splice(0)) conn.write(chunk);
      });
      conn.on('data', (chunk: Buffer) => {
        if (ws.readyState !== ws.OPEN) return;
        session.bytesFromPod += chunk.length;
        wsQueued += chunk.length;
        if (wsQueued > WS_HIGH_WATER_BYTES) conn.pause();
        ws.send(Buffer.concat([Buffer.from([2 * i]), chunk]), () => {
          wsQueued -= chunk.length;
          if (wsQueued <= WS_HIGH_WATER_BYTES / 2 && conn.isPaused()) conn.resume();
        });
      });
      conn.on('error', (err: NodeJS.ErrnoException) => {
        if (!connected) fail(`failed to connect to localhost:${port} inside namespace "${sandbox}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused (${err.code ?? err.message})`);
      });
      conn.on('close', () => {
        if (connected) portDone();
      });
    });
  }

  closeAll(): void {
    for (const s of this.sessions) s.drop();
    this.wss.close();
  }
}
