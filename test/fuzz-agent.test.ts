import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Kind, MAX_CHUNK_BYTES, PROTOCOL_VERSION, bearer, encodeFrame, loadHasher } from '@skiff/protocol';
import { CloseCode, MAX_PAYLOAD_BYTES } from '@skiff/agent';
import { MAX_OPEN_FILES } from '../packages/agent/src/apply/batch.ts';
import { startLocalAgent, type LocalAgent } from '@skiff/daemon';
import { rawFrame } from './agent-harness.ts';
import { FuzzConnection } from './support/fuzz-agent-client.ts';
import { garbageMessage, hostileFrame, mutate } from './support/fuzz-frames.ts';
import { ValidStream } from './support/fuzz-stream.ts';
import { hostilePaths } from './support/fuzz-values.ts';
import { FUZZ_LONG, Rng, fuzzScratch, fuzzSeed, replayHint } from './support/fuzz-rng.ts';
import { snapshotNoFollow, tempFilesUnder } from './support/tree-snapshot.ts';

/**
 * A real agent (the skiff-agent program, as the local target starts it:
 * startAgent on port 0 of 127.0.0.1, a temporary root) fed random and
 * spoiled frames over real websocket connections, one connection after the
 * other so that a seed replays the same run. What must hold throughout:
 * the process never dies, a good connection still applies a batch at every
 * checkpoint, valid input on a clean connection is never refused, no input
 * makes the agent report an internal error, nothing outside the root
 * changes, no temporary file survives its connection, and the agent's
 * memory stays bounded.
 */
const THIS_FILE = 'test/fuzz-agent.test.ts';
const seed = fuzzSeed();
const hint = replayHint(seed, THIS_FILE);

/** Frames to feed; the quick run stays well under 20 s on two cores. */
const FRAMES = FUZZ_LONG ? 2_000_000 : 100_000;
/** A good batch must still apply after every this many frames. */
const CHECKPOINT_FRAMES = FUZZ_LONG ? 100_000 : 25_000;
/** Bound on the agent's resident memory, now and at its peak (VmRSS, VmHWM): about 3x what a run uses. */
const RSS_BOUND_BYTES = 256 * 1024 * 1024;
const TEST_TIMEOUT_MS = FUZZ_LONG ? 3_600_000 : 180_000;

/** Frames per message of a stream connection; many per message keeps the run short. */
const MAX_FRAMES_PER_MESSAGE = 120;
const MAX_MESSAGES_PER_CONNECTION = 6;
/** Share of stream messages carrying a spoiled or hostile frame (the connection ends with it). */
const P_DIRTY_MESSAGE = 0.3;
/** Of a dirty message, the share spoiled byte-wise (mutate) rather than well-formed but hostile. */
const P_MUTATION = 0.6;
const P_GARBAGE_MESSAGE = 0.04;
const P_TEXT_MESSAGE = 0.01;

type Scenario = 'stream' | 'auth' | 'hello' | 'open-files' | 'oversize';
const SCENARIOS: readonly (readonly [number, Scenario])[] = [
  [940, 'stream'],
  [20, 'auth'],
  [35, 'hello'],
  [3, 'open-files'],
  [2, 'oversize'],
];
type Ending = 'close' | 'terminate' | 'leave-open';
const ENDINGS: readonly (readonly [number, Ending])[] = [
  [60, 'close'],
  [35, 'terminate'],
  [5, 'leave-open'],
];

const hasher = await loadHasher();
const enc = new TextEncoder();

interface Tally {
  frames: number;
  messages: number;
  connections: number;
  applied: number;
  errorCodes: Map<string, number>;
  problemCodes: Map<string, number>;
  closeCodes: Map<number, number>;
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

let base: string;
let agent: LocalAgent;
let agentExit: string | null = null;
const agentOutput: string[] = [];
let outsideBefore: Record<string, string>;
let hostile: string[];
const pwned: string[] = [];

/**
 * Everything beside the root, under the directory that holds it, but the
 * agent's own saved manifest (`.root.skiff-manifest`, and its temporary name
 * while it is written): the one file the agent keeps beside its root.
 */
function outsideRoot(): Record<string, string> {
  return snapshotNoFollow(base, (rel) => rel === 'root' || rel.startsWith('.root.skiff-manifest'));
}

beforeAll(async () => {
  base = mkdtempSync(join(fuzzScratch(), 'skiff-fuzz-agent-'));
  const root = join(base, 'root');
  mkdirSync(join(base, 'sentinel', 'sub'), { recursive: true });
  writeFileSync(join(base, 'sentinel', 'secret.txt'), 'do not touch');
  writeFileSync(join(base, 'sentinel', 'sub', 'x'), 'nor this');
  writeFileSync(join(base, 'beside-root.txt'), 'nor this either');
  mkdirSync(root);
  pwned.push(join(base, 'pwned'), join(tmpdir(), `skiff-fuzz-pwned-${seed}`), join(base, 'sentinel', 'new.txt'));
  hostile = hostilePaths([...pwned, join(base, 'sentinel', 'secret.txt'), join(root, 'a')]);
  plantEscapingLink(root);
  outsideBefore = outsideRoot();
  agent = await startLocalAgent({ root, onOutput: (_stream, data) => agentOutput.push(data.toString()) });
  agent.child.once('exit', (code, signal) => {
    agentExit = `the agent exited (${signal ?? `code ${code}`}); its last output:\n${agentOutput.join('').split('\n').slice(-30).join('\n')}`;
  });
});

afterAll(async () => {
  await agent?.stop();
  if (base) rmSync(base, { recursive: true, force: true });
  for (const p of pwned) rmSync(p, { force: true, recursive: true });
});

/** A symlink in the root that leads out of it: writes through it must be refused. */
function plantEscapingLink(root: string): void {
  const link = join(root, 'planted');
  if (lstatSync(link, { throwIfNoEntry: false }) === undefined) symlinkSync(join(base, 'sentinel'), link);
}

function agentAlive(): void {
  if (agentExit !== null) throw new Error(agentExit);
}

/** CPU seconds the agent used (user, system), from /proc/<pid>/stat; clock ticks are 100 Hz on Linux. */
function cpuOf(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 };
}

function rssOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** Polls until no temporary file is left: the agent removes them when it sees the close, which may trail ours. */
async function expectNoTemps(): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (tempFilesUnder(agent.root).length > 0) {
    if (Date.now() > deadline) throw new Error(`${hint}: temporary files left in the root: ${tempFilesUnder(agent.root).slice(0, 10).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let checkpoints = 0;
/** A fresh, well-behaved connection applies a batch and the file lands with its content. */
async function checkpoint(): Promise<void> {
  agentAlive();
  checkpoints += 1;
  const c = await FuzzConnection.ready(agent.url, agent.token);
  c.send(encodeFrame(Kind.HELLO, { protocol: PROTOCOL_VERSION, software: 'skiffd/fuzz-checkpoint' }));
  const batch = 1_000_000_000 + checkpoints;
  const body = enc.encode(`checkpoint ${checkpoints} of seed ${seed}`);
  const path = `checkpoint/${checkpoints}.txt`;
  c.send(
    Buffer.concat([
      encodeFrame(Kind.BATCH_BEGIN, { batch, ops: 1, bytes: body.length }),
      encodeFrame(Kind.FILE, { batch, path, size: body.length, mode: 0o644, mtime: Date.now(), hash: hasher.h64Bytes(body), offset: 0 }, body),
      encodeFrame(Kind.COMMIT, { batch }),
    ]),
  );
  await c.barrier();
  expect(c.errors, hint).toEqual([]);
  expect(c.applied.map((a) => [a.batch, a.written, a.problems]), hint).toEqual([[batch, 1, []]]);
  expect(readFileSync(join(agent.root, path), 'utf8'), hint).toBe(`checkpoint ${checkpoints} of seed ${seed}`);
  await c.close();
  await expectNoTemps();
  expect(outsideRoot(), `${hint}: something outside the root changed`).toEqual(outsideBefore);
  plantEscapingLink(agent.root);
}

describe('fuzzing the agent', () => {
  it(`survives ${FRAMES.toLocaleString('en')} random and spoiled frames over real connections`, { timeout: TEST_TIMEOUT_MS }, async () => {
    console.info(`fuzz-agent: ${hint}`);
    const rng = new Rng(seed);
    const tally: Tally = { frames: 0, messages: 0, connections: 0, applied: 0, errorCodes: new Map(), problemCodes: new Map(), closeCodes: new Map() };
    const started = Date.now();
    const startRss = rssOf(agent.pid).rss;
    let nextBatch = 1;
    let nextCheckpoint = CHECKPOINT_FRAMES;
    let leftOpen: FuzzConnection | null = null;

    /** What every connection's answers must satisfy, clean or not. */
    const record = (c: FuzzConnection) => {
      expect(c.undecodable, `${hint}: the agent sent something that does not decode`).toBe(0);
      for (const e of c.errors) bump(tally.errorCodes, e.code);
      for (const a of c.applied) for (const p of a.problems) bump(tally.problemCodes, p.code);
      tally.applied += c.applied.length;
      if (c.closed) bump(tally.closeCodes, c.closed.code);
      const internal = [...c.errors, ...c.applied.flatMap((a) => a.problems)].filter((e) => e.code === ErrorCode.INTERNAL);
      expect(internal, `${hint}: input made the agent fail internally`).toEqual([]);
      expect(c.closed?.code, `${hint}: the agent closed as if it had a bug`).not.toBe(CloseCode.INTERNAL_ERROR);
    };

    const end = async (c: FuzzConnection) => {
      const ending = rng.weighted(ENDINGS);
      if (ending === 'close') await c.close();
      else if (ending === 'terminate') c.terminate();
      else if (!c.closed) leftOpen = c;
    };

    /** Runs a scenario that opens a websocket: the connection left open before it must be replaced by it. */
    const opening = async (run: () => Promise<void>) => {
      const previous = leftOpen;
      leftOpen = null;
      await run();
      if (previous === null) return;
      await previous.waitClosed();
      expect(previous.closed?.code, hint).toBe(CloseCode.REPLACED);
      bump(tally.closeCodes, CloseCode.REPLACED);
    };

    const scenarios: Record<Scenario, () => Promise<void>> = {
      async auth() {
        const token = agent.token;
        const authorization = rng.pick<string | undefined>([
          undefined,
          bearer(`${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`),
          bearer(token.slice(0, rng.range(1, token.length - 1))),
          bearer(`${token}0`),
          bearer('0'.repeat(rng.range(1, 512))),
          `Basic ${Buffer.from(`user:${token}`).toString('base64')}`,
          `Bearer  ${token}`,
          `bearer ${token}`,
          'Bearer',
          Buffer.from(rng.bytes(rng.range(1, 64))).toString('latin1').replace(/[\r\n\u0000-\u001f\u007f-\uffff]/g, 'x'),
        ]);
        const res = await FuzzConnection.open(agent.url, authorization);
        tally.frames += 1;
        if (res instanceof FuzzConnection) {
          // Only the exact token opens a websocket; the variants above either equal it once trimmed or must be refused.
          expect(`${authorization}`.trim(), `${hint}: a spoiled token opened a websocket`).toBe(bearer(token));
          res.terminate();
          return;
        }
        expect(res.status, hint).toBe(401);
      },

      async hello() {
        const c = await FuzzConnection.ready(agent.url, agent.token);
        const first = rng.pick<() => Uint8Array>([
          () => encodeFrame(Kind.HELLO, { protocol: PROTOCOL_VERSION + rng.range(1, 1000), software: 'skiffd/future' }),
          () => encodeFrame(Kind.HELLO, { protocol: 0, software: 'skiffd/past' }),
          () => rawFrame(Kind.HELLO, { protocol: rng.pick([-1, 0.5, '1', null, 1e308]), software: 'skiffd/fuzz' }),
          () => rawFrame(Kind.HELLO, { protocol: PROTOCOL_VERSION }),
          () => encodeFrame(Kind.INVENTORY_REQUEST, {}),
          () => encodeFrame(Kind.BATCH_BEGIN, { batch: 1, ops: 1, bytes: 1 }),
          () => encodeFrame(Kind.COMMIT, { batch: 1 }),
          () => garbageMessage(rng),
        ])();
        c.send(first);
        tally.frames += 1;
        tally.messages += 1;
        await c.waitClosed();
        expect(c.errors.length, `${hint}: a bad opening must be answered by one ERROR`).toBe(1);
        record(c);
      },

      async 'open-files'() {
        const c = await FuzzConnection.ready(agent.url, agent.token);
        c.send(encodeFrame(Kind.HELLO, { protocol: PROTOCOL_VERSION, software: 'skiffd/fuzz' }));
        const batch = nextBatch++;
        const frames = [encodeFrame(Kind.BATCH_BEGIN, { batch, ops: 0, bytes: 0 })];
        // More files half-sent than the agent holds descriptors for: refused, every temporary removed.
        for (let i = 0; i <= MAX_OPEN_FILES; i++) {
          frames.push(encodeFrame(Kind.FILE, { batch, path: `open/${i}`, size: 2 ** 40, mode: 0o644, mtime: 1, hash: '0123456789abcdef', offset: 0 }, enc.encode('x')));
        }
        c.send(Buffer.concat(frames));
        tally.frames += frames.length;
        tally.messages += 1;
        await c.waitClosed();
        expect(c.errors.map((e) => e.code), hint).toEqual([ErrorCode.PROTOCOL_STATE]);
        record(c);
      },

      async oversize() {
        const c = await FuzzConnection.ready(agent.url, agent.token);
        c.send(encodeFrame(Kind.HELLO, { protocol: PROTOCOL_VERSION, software: 'skiffd/fuzz' }));
        c.send(new Uint8Array(MAX_PAYLOAD_BYTES + 1 + rng.int(MAX_CHUNK_BYTES)));
        tally.frames += 1;
        tally.messages += 1;
        await c.waitClosed();
        expect(c.closed?.code, hint).toBe(1009);
        record(c);
      },

      async stream() {
        const c = await FuzzConnection.ready(agent.url, agent.token);
        c.send(encodeFrame(Kind.HELLO, { protocol: PROTOCOL_VERSION, software: 'skiffd/fuzz' }));
        const stream = new ValidStream(rng, nextBatch, hasher);
        let dirty = false;
        const messages = rng.range(1, MAX_MESSAGES_PER_CONNECTION);
        for (let m = 0; m < messages && !dirty; m++) {
          tally.messages += 1;
          if (rng.chance(P_GARBAGE_MESSAGE)) {
            c.send(garbageMessage(rng));
            tally.frames += 1;
            dirty = true;
            break;
          }
          if (rng.chance(P_TEXT_MESSAGE)) {
            c.send(Buffer.from(rng.bytes(rng.range(1, 100))).toString('latin1'));
            tally.frames += 1;
            dirty = true;
            break;
          }
          const count = rng.range(1, MAX_FRAMES_PER_MESSAGE);
          const frames: Uint8Array[] = [];
          for (let i = 0; i < count; i++) frames.push(stream.next());
          if (rng.chance(P_DIRTY_MESSAGE)) {
            dirty = true;
            const bad = rng.range(1, 3);
            for (let i = 0; i < bad; i++) {
              const at = rng.int(frames.length);
              frames[at] = rng.chance(P_MUTATION)
                ? mutate(rng, frames[at], rng.pick(frames), hostile).bytes
                : hostileFrame(rng, { batch: stream.batchId, batchOpen: stream.batchOpen }, hostile).bytes;
            }
          }
          c.send(Buffer.concat(frames));
          tally.frames += frames.length;
        }
        if (!dirty && rng.chance(0.7)) {
          const rest = stream.finish();
          if (rest.length > 0) {
            c.send(Buffer.concat(rest));
            tally.frames += rest.length;
            tally.messages += 1;
          }
        }
        nextBatch = stream.batchId + 1;
        await c.barrier();
        if (!dirty) {
          expect(c.errors, `${hint}: valid frames were refused`).toEqual([]);
          expect(c.closed, hint).toBeNull();
          expect(c.applied.length, hint).toBe(stream.commits);
        }
        // A spoiled frame may still be valid (a bit flipped in file content): only a refusal closes.
        if (c.errors.length > 0) await c.waitClosed();
        record(c);
        await end(c);
      },
    };

    while (tally.frames < FRAMES) {
      agentAlive();
      const scenario = rng.weighted(SCENARIOS);
      tally.connections += 1;
      // A refused upgrade opens no websocket, so it replaces nothing.
      if (scenario === 'auth') await scenarios.auth();
      else await opening(scenarios[scenario]);
      if (tally.frames >= nextCheckpoint) {
        nextCheckpoint += CHECKPOINT_FRAMES;
        await opening(checkpoint);
      }
    }
    await opening(checkpoint);
    const seconds = (Date.now() - started) / 1000;

    // Nothing beside the root changed; nothing appeared where hostile absolute paths pointed.
    expect(outsideRoot(), `${hint}: something outside the root changed`).toEqual(outsideBefore);
    for (const p of pwned) expect(existsSync(p), `${hint}: ${p} was written`).toBe(false);
    const memory = rssOf(agent.pid);
    const cpu = cpuOf(agent.pid);
    expect(memory.rss, hint).toBeLessThan(RSS_BOUND_BYTES);
    expect(memory.peak, hint).toBeLessThan(RSS_BOUND_BYTES);
    expect(agentOutput.join(''), 'the agent logged its token').not.toContain(agent.token);

    const top = (m: Map<unknown, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}=${n}`).join(' ');
    console.info(
      `fuzz-agent: seed ${seed}: ${tally.frames} frames in ${tally.messages} messages over ${tally.connections} connections in ${seconds.toFixed(1)} s; ` +
        `${tally.applied} batches applied; agent CPU ${cpu.user.toFixed(1)} s user ${cpu.system.toFixed(1)} s system; agent RSS ${(startRss / 2 ** 20).toFixed(0)} MiB at start, ${(memory.rss / 2 ** 20).toFixed(0)} MiB at the end (peak ${(memory.peak / 2 ** 20).toFixed(0)} MiB, bound ${RSS_BOUND_BYTES / 2 ** 20} MiB)\n` +
        `  errors: ${top(tally.errorCodes)}\n  problems: ${top(tally.problemCodes)}\n  closes: ${top(tally.closeCodes)}`,
    );
    expect(tally.frames).toBeGreaterThanOrEqual(FRAMES);
  });
});
