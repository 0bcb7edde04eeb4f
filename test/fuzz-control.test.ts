import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { connectControl, type ControlConnection } from '../packages/daemon/src/control/client.ts';
import { LogLevel } from '../packages/daemon/src/control/log.ts';
import { startControlServer, type ControlClient, type ControlHandlers, type ControlServer } from '../packages/daemon/src/control/server.ts';
import { LineSplitter, MAX_LINE_BYTES, parseServerMessage, type ServerMessage } from '../packages/daemon/src/control/wire.ts';
import { LINE_MIX, countLines, fuzzLine } from './support/fuzz-lines.ts';
import { FUZZ_LONG, Rng, fuzzSeed, replayHint } from './support/fuzz-rng.ts';

/**
 * The daemon's control server, in this process on a temporary socket, fed
 * random and broken lines by several connections at once while a
 * well-behaved client keeps pinging. What must hold: every ping is answered,
 * every line of a connection the server keeps open gets exactly one answer,
 * everything the server writes is a valid message, no handler failure other
 * than the deliberate one is logged as an error, and once the fuzzing
 * connections are gone only the good client remains.
 */
const THIS_FILE = 'test/fuzz-control.test.ts';
const seed = fuzzSeed();
const hint = replayHint(seed, THIS_FILE);

const LINES = FUZZ_LONG ? 2_000_000 : 100_000;
const CONNECTIONS_IN_FLIGHT = 4;
const MIN_LINES_PER_CONNECTION = 200;
const MAX_LINES_PER_CONNECTION = 1200;
/** Share of connections that say hello first; the others start with whatever comes. */
const P_HELLO_FIRST = 0.7;
/** Largest slice one write carries: lines arrive cut anywhere, a UTF-8 character included. */
const MAX_WRITE_BYTES = 8192;
/** How often the good client pings while the fuzzing runs. */
const PING_EVERY_MS = 25;
/** A ping not answered within this is a failure: the server stalled. */
const PING_TIMEOUT_MS = 5_000;
/** Bound on any wait for one fuzzing connection's answers. */
const CONNECTION_WAIT_MS = 30_000;
const TEST_TIMEOUT_MS = FUZZ_LONG ? 3_600_000 : 120_000;
/** The id of the last line of each connection: a ping whose answer means every earlier line was read. */
const MARKER_ID = Number.MAX_SAFE_INTEGER;

let dir: string;
let server: ControlServer;
const errorLogs: string[] = [];
const subscribers = new Set<ControlClient>();

/** Stand-in methods covering what real handlers do: answer, throw, answer later, answer too much. */
const handlers: ControlHandlers = {
  echo: (params) => params,
  fail: () => {
    throw new SkiffError(ErrorCode.IO, 'failed on purpose');
  },
  crash: () => {
    throw new Error('a deliberate bug in a handler');
  },
  later: async (params) => {
    await new Promise((resolve) => setImmediate(resolve));
    return params;
  },
  huge: () => 'h'.repeat(MAX_LINE_BYTES + 10),
  cyclic: () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    return cycle;
  },
  subscribe: (_params, client) => {
    subscribers.add(client);
    client.onClose(() => subscribers.delete(client));
    return { subscribers: subscribers.size };
  },
  broadcast: (params) => {
    for (const client of subscribers) client.emit('fuzz', params);
    return { to: subscribers.size };
  },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skf-'));
  server = await startControlServer({
    socketPath: join(dir, 'c.sock'),
    handlers,
    log: (level, message) => {
      if (level === LogLevel.ERROR) errorLogs.push(message);
    },
  });
});

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface ConnectionResult {
  lines: number;
  answers: number;
  closedByServer: boolean;
}

/** Reads what the server sends to one fuzzing connection; every line of it must be a valid message. */
class Reader {
  readonly answers: ServerMessage[] = [];
  markerAnswered = false;
  closed = false;
  invalid: string | null = null;
  private readonly splitter = new LineSplitter(MAX_LINE_BYTES);
  private waiters: (() => void)[] = [];

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const line of this.splitter.push(chunk).lines) {
        const parsed = parseServerMessage(line);
        if (!parsed.ok) {
          this.invalid ??= line.slice(0, 300);
          continue;
        }
        if (!('ok' in parsed.value)) continue;
        this.answers.push(parsed.value);
        if (parsed.value.id === MARKER_ID) this.markerAnswered = true;
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  until(done: () => boolean, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${hint}: timed out after ${CONNECTION_WAIT_MS} ms waiting for ${what}`)), CONNECTION_WAIT_MS);
      const check = () => {
        if (!done()) return void this.waiters.push(check);
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function open(socketPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

async function fuzzConnection(rng: Rng, socketPath: string): Promise<ConnectionResult> {
  const parts: Buffer[] = [];
  if (rng.chance(P_HELLO_FIRST)) parts.push(Buffer.from('{"id":0,"method":"hello","params":{"protocol":1,"version":"fuzz"}}\n'));
  const count = rng.range(MIN_LINES_PER_CONNECTION, MAX_LINES_PER_CONNECTION);
  for (let i = 0; i < count; i++) parts.push(fuzzLine(rng, rng.weighted(LINE_MIX)));
  parts.push(Buffer.from(`{"id":${MARKER_ID},"method":"ping"}\n`));
  const data = Buffer.concat(parts);
  const lines = countLines(data);

  const socket = await open(socketPath);
  const reader = new Reader(socket);
  for (let at = 0; at < data.length && !reader.closed; ) {
    const size = rng.range(1, MAX_WRITE_BYTES);
    socket.write(data.subarray(at, at + size));
    at += size;
  }
  // Every line answered, or the server ended the connection (a refused hello, a line over the limit).
  await reader.until(() => reader.closed || (reader.markerAnswered && reader.answers.length >= lines), 'every line to be answered or the connection closed');
  expect(reader.invalid, `${hint}: the server wrote an invalid message`).toBeNull();
  const result = { lines, answers: reader.answers.length, closedByServer: reader.closed };
  if (!reader.closed) expect(reader.answers.length, `${hint}: one answer per line`).toBe(lines);
  if (rng.chance(0.5)) socket.destroy();
  else socket.end();
  return result;
}

describe('fuzzing the control socket', () => {
  it(`keeps serving through ${LINES.toLocaleString('en')} random and broken lines`, { timeout: TEST_TIMEOUT_MS }, async () => {
    console.info(`fuzz-control: ${hint}`);
    const socketPath = join(dir, 'c.sock');
    const good: ControlConnection = await connectControl({ socketPath });
    await good.request('subscribe');
    let fuzzEvents = 0;
    good.on('fuzz', () => (fuzzEvents += 1));

    // The good client pings throughout; a ping that goes unanswered fails the test.
    let pinging = true;
    const latencies: number[] = [];
    const pinger = (async () => {
      while (pinging) {
        const t0 = performance.now();
        await good.request('ping', undefined, { timeoutMs: PING_TIMEOUT_MS });
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, PING_EVERY_MS));
      }
    })();

    const started = Date.now();
    let sent = 0;
    let answered = 0;
    let closedByServer = 0;
    let connections = 0;
    const worker = async () => {
      // Counted by answers: lines sent after the server ended a connection were never handled.
      while (answered < LINES) {
        // Each connection has its own stream, derived from the seed and its number, so a run replays whatever the interleaving.
        const index = connections++;
        const rng = new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0 || 1);
        const r = await fuzzConnection(rng, socketPath);
        sent += r.lines;
        answered += r.answers;
        if (r.closedByServer) closedByServer += 1;
      }
    };
    try {
      await Promise.all(Array.from({ length: CONNECTIONS_IN_FLIGHT }, worker));
    } finally {
      pinging = false;
    }
    await pinger;
    const seconds = (Date.now() - started) / 1000;

    // Still serving: the good client, and a new one.
    expect((await good.request<{ pid: number }>('ping', undefined, { timeoutMs: PING_TIMEOUT_MS })).pid).toBe(process.pid);
    const fresh = await connectControl({ socketPath });
    expect(await fresh.request('echo', { still: 'here' }, { timeoutMs: PING_TIMEOUT_MS })).toEqual({ still: 'here' });
    await fresh.close();
    // Every fuzzing connection is gone from the server's books.
    const deadline = Date.now() + CONNECTION_WAIT_MS;
    while (server.clients() > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(server.clients(), `${hint}: connections left open`).toBe(1);
    // The only errors logged are the deliberate bug's.
    expect(errorLogs.filter((m) => !m.startsWith('method crash:')), hint).toEqual([]);

    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
    console.info(
      `fuzz-control: seed ${seed}: ${sent} lines sent over ${connections} connections (${closedByServer} ended by the server), ` +
        `${answered} of them answered, in ${seconds.toFixed(1)} s; ${latencies.length} pings answered, p50 ${p(0.5)} ms, max ${p(1)} ms; ${fuzzEvents} broadcast events reached the good client`,
    );
    expect(answered).toBeGreaterThanOrEqual(LINES);
    expect(latencies.length).toBeGreaterThan(0);
    await good.close();
  });
});
