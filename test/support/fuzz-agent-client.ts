import WebSocket from 'ws';
import { Kind, bearer, decodeFrames, type AppliedHeader, type ErrorHeader } from '@skiff/protocol';

/**
 * One fuzzing connection to an agent: sends whatever it is given, records
 * what the agent answered (ERROR codes, APPLIED headers, the close code)
 * without trusting any of it to decode, and offers a barrier: a websocket
 * ping, whose pong the agent sends only after it has handled every message
 * sent before it (it handles messages synchronously, in order).
 */
export const FUZZ_WAIT_MS = 10_000;

export class FuzzConnection {
  readonly errors: ErrorHeader[] = [];
  readonly applied: AppliedHeader[] = [];
  /** Messages from the agent that did not decode: the agent must never send one. */
  undecodable = 0;
  helloSeen = false;
  closed: { code: number; reason: string } | null = null;
  private pongs = 0;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      try {
        if (!isBinary) throw new Error('text');
        for (const f of decodeFrames(data)) {
          if (f.kind === Kind.HELLO) this.helloSeen = true;
          else if (f.kind === Kind.ERROR) this.errors.push(f.header);
          else if (f.kind === Kind.APPLIED) this.applied.push(f.header);
        }
      } catch {
        this.undecodable += 1;
      }
      this.wake();
    });
    ws.on('pong', () => {
      this.pongs += 1;
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => this.wake());
  }

  /** Opens a connection; resolves with it, or with the HTTP status that refused the upgrade. */
  static open(url: string, authorization: string | undefined): Promise<FuzzConnection | { status: number }> {
    return new Promise((resolve, reject) => {
      const headers = authorization === undefined ? {} : { authorization };
      const ws = new WebSocket(url, { headers, perMessageDeflate: false });
      ws.once('open', () => resolve(new FuzzConnection(ws)));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        ws.terminate();
        resolve({ status: res.statusCode ?? 0 });
      });
      ws.once('error', reject);
    });
  }

  static async ready(url: string, token: string): Promise<FuzzConnection> {
    const c = await FuzzConnection.open(url, bearer(token));
    if (!(c instanceof FuzzConnection)) throw new Error(`the agent refused a good token with HTTP ${c.status}`);
    await c.until('the agent HELLO', () => c.helloSeen);
    return c;
  }

  send(message: Uint8Array | string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(message);
  }

  /** Resolves once the agent has handled everything sent so far, or has closed the connection. */
  async barrier(): Promise<void> {
    if (this.closed) return;
    const want = this.pongs + 1;
    try {
      this.ws.ping();
    } catch {
      // Closing already: the close below ends the wait.
    }
    await this.until('a pong or the close', () => this.pongs >= want || this.closed !== null);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.ws.close(1000);
    await this.until('the close', () => this.closed !== null);
  }

  terminate(): void {
    this.ws.terminate();
  }

  waitClosed(): Promise<void> {
    return this.until('the close', () => this.closed !== null);
  }

  private until(what: string, done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${FUZZ_WAIT_MS} ms waiting for ${what}; errors ${JSON.stringify(this.errors)} closed ${JSON.stringify(this.closed)}`));
      }, FUZZ_WAIT_MS);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
