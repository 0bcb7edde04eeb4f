/**
 * Drives a real agent (startAgent on port 0, a temp root) with a real `ws`
 * client, as a daemon would, or as a hostile peer would: frames can be built
 * by hand, bypassing encodeFrame's own checks. Waits are on events with a
 * deadline, never fixed sleeps.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  FRAME_PREFIX_BYTES,
  Kind,
  PROTOCOL_VERSION,
  bearer,
  decodeFrames,
  encodeFrame,
  type Frame,
  type FrameOf,
} from '@skiff/protocol';
import { startAgent, type AgentHandle, type AgentOptions, type AppHooks } from '@skiff/agent';

export const WAIT_MS = 10_000;

export interface TestAgent {
  agent: AgentHandle;
  token: string;
  base: string;
  root: string;
  /** A directory next to the root that no input may ever change. */
  sentinel: string;
  logs: string[];
  url: string;
  cleanup(): Promise<void>;
}

export async function startTestAgent(opts: { hooks?: AppHooks; heartbeatMs?: number; fs?: AgentOptions['fs'] } = {}): Promise<TestAgent> {
  const base = mkdtempSync(join(tmpdir(), 'skiff-agent-it-'));
  const root = join(base, 'root');
  const sentinel = join(base, 'sentinel');
  mkdirSync(join(sentinel, 'sub'), { recursive: true });
  writeFileSync(join(sentinel, 'secret.txt'), 'do not touch');
  writeFileSync(join(sentinel, 'sub/x'), 'nor this');
  const token = randomBytes(32).toString('hex');
  const logs: string[] = [];
  const agent = await startAgent({ root, token, port: 0, ...opts, log: (line) => logs.push(line) });
  return {
    agent,
    token,
    base,
    root: agent.root,
    sentinel,
    logs,
    url: `ws://${agent.host}:${agent.port}/`,
    async cleanup() {
      await agent.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

// Walks that never follow a symlink: these tests plant links that point out of the root or loop.
export { snapshotNoFollow as snapshot, tempFilesUnder as tempsUnder } from './support/tree-snapshot.ts';

const enc = new TextEncoder();

/** A frame built by hand, as a hostile peer would: header unchecked, lengths may lie. */
export function rawFrame(kind: number, header: unknown, payload = new Uint8Array(0), lie: { head?: number; payload?: number } = {}): Uint8Array {
  const head = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(FRAME_PREFIX_BYTES + head.length + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, lie.head ?? head.length);
  view.setUint32(5, lie.payload ?? payload.length);
  out.set(head, FRAME_PREFIX_BYTES);
  out.set(payload, FRAME_PREFIX_BYTES + head.length);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

/** A daemon-side connection that records every frame and the close. */
export class TestClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      for (const f of decodeFrames(data)) this.frames.push(f);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => this.wake());
  }

  static open(url: string, token: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { authorization: bearer(token) }, perMessageDeflate: false, ...options });
      ws.once('open', () => resolve(new TestClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Opens a connection and completes the handshake (agent HELLO, then ours). */
  static async ready(url: string, token: string, options: { autoPong?: boolean } = {}): Promise<TestClient> {
    const c = await TestClient.open(url, token, options);
    await c.next(Kind.HELLO);
    c.send(encodeFrame(Kind.HELLO, { protocol: PROTOCOL_VERSION, software: 'skiffd/test' }));
    return c;
  }

  send(...messages: Uint8Array[]): void {
    for (const m of messages) this.ws.send(m);
  }

  /** Resolves when `done` holds, checked after every event; rejects after WAIT_MS. */
  until<T>(what: string, done: () => T | undefined | null | false): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = done();
        if (v) {
          clearTimeout(timer);
          resolve(v);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${what}; got ${this.frames.map((f) => f.kind).join(',')} closed=${JSON.stringify(this.closed)}`));
      }, WAIT_MS);
      const waiter = () => {
        if (check()) this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      if (!check()) this.waiters.push(waiter);
    });
  }

  /** The first not yet consumed frame of `kind`. */
  async next<K extends Kind>(kind: K): Promise<FrameOf<K>> {
    const i = await this.until(`frame kind ${kind}`, () => {
      const at = this.frames.findIndex((f) => f.kind === kind);
      return at >= 0 ? at + 1 : null;
    });
    return this.frames.splice(i - 1, 1)[0] as FrameOf<K>;
  }

  waitClosed(): Promise<{ code: number; reason: string }> {
    return this.until('close', () => this.closed);
  }

  terminate(): void {
    this.ws.terminate();
  }

  close(): Promise<unknown> {
    if (this.closed) return Promise.resolve();
    this.ws.close(1000);
    return this.waitClosed();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
