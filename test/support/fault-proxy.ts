import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between a daemon and an agent that forwards bytes both ways and
 * can cut a connection after exactly N bytes from the daemon: the first N
 * bytes reach the agent, then both sockets are destroyed and nothing more
 * passes in either direction. That is a link that dies at an arbitrary byte,
 * which no message boundary of the protocol can anticipate.
 *
 * Backpressure is kept (a side that cannot take more pauses the other), so a
 * multi-MiB batch flows as it would over a real link.
 */
export interface ProxiedConnection {
  readonly id: number;
  /** Bytes from the daemon forwarded to the agent. */
  upstream: number;
  /** Bytes from the agent forwarded to the daemon. */
  downstream: number;
  /** Set when this connection was cut by the proxy. */
  cut: boolean;
  /** Every byte the daemon sent, in order, when the proxy records. */
  readonly recorded: Buffer[];
  /** Resolves when both sockets are closed. */
  readonly closed: Promise<void>;
}

export interface ProxyTarget {
  host: string;
  port: number;
}

export class FaultProxy {
  readonly connections: ProxiedConnection[] = [];
  /** Where new connections go; changed when the agent is restarted on another port. */
  target: ProxyTarget;
  /** Record the daemon's bytes of new connections (for finding message boundaries). */
  record = false;
  private cutAfter: number | null = null;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    target: ProxyTarget,
    readonly port: number,
  ) {
    this.target = target;
  }

  static async start(target: ProxyTarget): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((socket) => proxy!.serverOnConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
    proxy = new FaultProxy(server, target, address.port);
    return proxy;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  /** The next connection (only that one) is cut once `bytes` bytes from the daemon passed. */
  cutNextAfter(bytes: number): void {
    this.cutAfter = bytes;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serverOnConnection(client: Socket): void {
    const limit = this.cutAfter;
    this.cutAfter = null;
    const agent = connect(this.target.port, this.target.host);
    this.sockets.add(client).add(agent);
    const both = [client, agent].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    const conn: ProxiedConnection = {
      id: this.connections.length + 1,
      upstream: 0,
      downstream: 0,
      cut: false,
      recorded: [],
      closed: Promise.all(both).then(() => undefined),
    };
    const record = this.record;
    this.connections.push(conn);
    void conn.closed.then(() => {
      this.sockets.delete(client);
      this.sockets.delete(agent);
    });

    const destroyBoth = () => {
      client.destroy();
      agent.destroy();
    };
    // An error on one side ends the other too: the link is one thing.
    client.on('error', destroyBoth);
    agent.on('error', destroyBoth);
    client.on('end', () => agent.end());
    agent.on('end', () => client.end());

    client.on('data', (chunk: Buffer) => {
      if (conn.cut) return;
      let part = chunk;
      const reachesLimit = limit !== null && conn.upstream + chunk.length >= limit;
      if (reachesLimit) part = chunk.subarray(0, limit - conn.upstream);
      conn.upstream += part.length;
      if (record) conn.recorded.push(Buffer.from(part));
      if (!reachesLimit) {
        if (!agent.write(part)) {
          client.pause();
          agent.once('drain', () => client.resume());
        }
        return;
      }
      // The cut: exactly `limit` bytes reach the agent's kernel buffer, then
      // both sockets go. Nothing the agent sends back reaches the daemon.
      conn.cut = true;
      client.pause();
      if (part.length === 0) destroyBoth();
      else agent.write(part, destroyBoth);
    });

    agent.on('data', (chunk: Buffer) => {
      if (conn.cut) return;
      conn.downstream += chunk.length;
      if (!client.write(chunk)) {
        agent.pause();
        client.once('drain', () => agent.resume());
      }
    });
  }
}
