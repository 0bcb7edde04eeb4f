import { createServer, type Server, type Socket } from 'node:net';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { WebSocket } from 'ws';
import type { KubeAccess } from './kube-api.ts';

/**
 * Port-forward through the API server (`pods/portforward`, websocket
 * subprotocol v4.channel.k8s.io), as `kubectl port-forward` does, so RBAC
 * (`pods/portforward`) and the agent's token both guard the agent.
 *
 * Written here rather than taken from client-node's PortForward, whose
 * known limits would hurt a sync: it has no flow control either way (a
 * large batch would sit in memory), never ends the local stream when the
 * websocket closes (the daemon would wait forever on a dead agent link),
 * and swallows the error channel. Here each accepted TCP connection gets
 * its own websocket to the pod that `pod()` names at that moment (so a
 * replaced pod is followed), data is held back while the other side has
 * more than HIGH_WATER_BYTES unsent, and either side's end or error ends
 * the other.
 *
 * Framing: every message starts with its channel byte (0 data, 1 error for
 * the one port); the server's first message on each channel is the port,
 * two bytes little-endian, which is not data.
 */
export const PORT_FORWARD_PROTOCOL = 'v4.channel.k8s.io';
/** Unsent bytes above which the sending side pauses its source. */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const DATA = 0;
const ERROR = 1;

export interface ForwardOptions {
  kube: KubeAccess;
  /** The pod to forward to, asked at each new connection (null: none ready, the connection is refused). */
  pod: () => string | null;
  remotePort: number;
  /** Local port on 127.0.0.1; 0 picks a free one. */
  localPort: number;
  /** Called with what the error channel or a failed upgrade said. */
  onError?: (message: string) => void;
}

export class PortForward {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly opts: ForwardOptions) {}

  async listen(): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new SkiffError(ErrorCode.PORT_IN_USE, `port ${this.opts.localPort} on 127.0.0.1 is taken, so the forward to the pod's port ${this.opts.remotePort} cannot listen there; free it, or map another local port in skiff.yaml ("ports: [\\"18080:${this.opts.remotePort}\\"]")`, { cause: err })
            : err,
        ),
      );
      server.listen(this.opts.localPort, '127.0.0.1', () => resolve());
    });
    // Listening alone does not hold the process (a one-shot push exits once done and leaves
    // the pod running); a connection being forwarded does.
    server.unref();
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  /** Drops the connections being forwarded now; the listener stays (new connections go to the pod as before). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  close(): void {
    this.server?.close();
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const pod = this.opts.pod();
    if (pod === null) {
      socket.destroy();
      return;
    }
    socket.pause();
    void this.open(pod, socket).catch((err: Error) => {
      this.opts.onError?.(err.message);
      socket.destroy();
    });
  }

  /**
   * Opens the websocket to `pod` and joins it to `socket` at once: the server
   * may send its first messages (the port headers) in the same read as the
   * upgrade's answer, and they must meet their handler, not an empty room.
   */
  private async open(pod: string, socket: Socket): Promise<void> {
    const { kube, remotePort } = this.opts;
    const base = kube.server.replace(/^http/, 'ws').replace(/\/+$/, '');
    const url = `${base}/api/v1/namespaces/${encodeURIComponent(kube.namespace)}/pods/${encodeURIComponent(pod)}/portforward?ports=${remotePort}`;
    const options: WebSocket.ClientOptions = { perMessageDeflate: false };
    await kube.kc.applyToHTTPSOptions(options);
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, [PORT_FORWARD_PROTOCOL], options);
      ws.binaryType = 'nodebuffer';
      pipe(socket, ws, this.opts.onError);
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => reject(new Error(`port-forward to pod ${pod} refused (HTTP ${res.statusCode}): ${statusMessage(body)}`)));
      });
      ws.once('error', reject);
    });
  }
}

/** Joins a local socket and a port-forward websocket, with flow control both ways and a clean end. */
function pipe(socket: Socket, ws: WebSocket, onError: ((message: string) => void) | undefined): void {
  const portHeaderPending = new Set([DATA, ERROR]);
  let unsent = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    socket.end();
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
  };

  socket.on('data', (chunk: Buffer) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const frame = Buffer.allocUnsafe(chunk.length + 1);
    frame[0] = DATA;
    chunk.copy(frame, 1);
    unsent += frame.length;
    if (unsent > HIGH_WATER_BYTES) socket.pause();
    ws.send(frame, (err) => {
      unsent -= frame.length;
      if (err) end();
      else if (unsent <= HIGH_WATER_BYTES && !ended) socket.resume();
    });
  });
  socket.on('end', end);
  socket.on('close', end);

  ws.on('message', (raw: Buffer) => {
    if (raw.length === 0) return;
    const channel = raw[0];
    let body = raw.subarray(1);
    if (portHeaderPending.has(channel)) {
      // The server opens each channel with the port number: two bytes, not data.
      portHeaderPending.delete(channel);
      body = body.subarray(2);
    }
    if (body.length === 0) return;
    if (channel === DATA) {
      if (!socket.write(body)) {
        ws.pause();
        socket.once('drain', () => ws.resume());
      }
    } else if (channel === ERROR) {
      onError?.(body.toString('utf8').trim());
      socket.destroy();
      end();
    }
  });
  ws.on('close', end);
  ws.on('error', end);
  // Bytes the local side sent before the websocket was open wait in the paused socket.
  ws.once('open', () => socket.resume());
}

function statusMessage(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 300);
  } catch {
    return body.slice(0, 300);
  }
}
