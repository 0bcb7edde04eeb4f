import { closeSync, ftruncateSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Capability } from '@skiff/protocol';
import { AgentClient, runPush, type PushResult } from '@skiff/daemon';
import { FaultAgent } from './support/fault-agent.ts';
import { faultSeed, prng, type Prng } from './support/fault-seed.ts';
import { tempFilesUnder } from './support/fault-versions.ts';
import { compareTrees } from './support/tree-compare.ts';

/**
 * Large files changed in place travel as deltas (SPAN frames copying runs of
 * the agent's current version, sync/send-spans.ts and agent apply/span.ts),
 * and holes stay holes. Through the real pipeline (runPush into a real
 * agent), a project with a large file and a sparse image goes through
 * seeded edits of every kind — bytes overwritten at random offsets, bytes
 * inserted, a range removed, the file cut short, the file grown — and after
 * each push the agent's copy must be the source byte for byte, no temporary
 * file left, the push must have sent far less than the file for the edits
 * that leave most of it in place, and the image must stay sparse.
 */
const seed = faultSeed();
const MIB = 2 ** 20;
const BIG = 'data/big.bin';
const IMAGE = 'disk.img';
const BIG_BYTES = 6 * MIB + 12_345;
const IMAGE_BYTES = 64 * MIB;
const IMAGE_EXTENT = 64 * 1024;
const ROUNDS = 24;
const PUSH_TIMEOUT_MS = 30_000;
const skipIndex = (rel: string) => rel === '.skiff';

const Edit = { OVERWRITE: 'overwrite', INSERT: 'insert', REMOVE: 'remove', TRUNCATE: 'truncate', GROW: 'grow' } as const;
type Edit = (typeof Edit)[keyof typeof Edit];
const EDITS: readonly Edit[] = Object.values(Edit);
/** Edits after which most of the file is still where it was: a delta must send a small part of it. */
const SMALL_DELTA_EDITS: ReadonlySet<Edit> = new Set([Edit.OVERWRITE, Edit.INSERT, Edit.REMOVE, Edit.TRUNCATE]);

/** Applies one seeded edit to `path`; returns what it did, for failure messages. */
function edit(path: string, kind: Edit, rand: Prng): string {
  const content = readFileSync(path);
  const at = rand.int(0, content.length);
  switch (kind) {
    case Edit.OVERWRITE: {
      // A few small writes at seeded offsets, in place, as a database or an image editor makes them.
      const fd = openSync(path, 'r+');
      const spots: number[] = [];
      for (let i = 0, n = rand.int(1, 4); i < n; i++) {
        const off = rand.int(0, content.length - 16);
        writeSync(fd, rand.bytes(rand.int(1, 16)), 0, undefined, off);
        spots.push(off);
      }
      closeSync(fd);
      return `overwrote bytes at ${spots.join(', ')}`;
    }
    case Edit.INSERT: {
      const bytes = rand.bytes(rand.int(1, 5000));
      writeFileSync(path, Buffer.concat([content.subarray(0, at), bytes, content.subarray(at)]));
      return `inserted ${bytes.length} bytes at ${at}`;
    }
    case Edit.REMOVE: {
      const n = rand.int(1, 70_000);
      writeFileSync(path, Buffer.concat([content.subarray(0, at), content.subarray(at + n)]));
      return `removed ${n} bytes at ${at}`;
    }
    case Edit.TRUNCATE: {
      const keep = Math.max(2 * MIB, at);
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, keep);
      closeSync(fd);
      // Kept large enough to stay a large file, and grown back later by GROW.
      return `cut to ${keep} bytes`;
    }
    case Edit.GROW: {
      const more = rand.bytes(rand.int(1, 3 * MIB));
      writeFileSync(path, Buffer.concat([content, more]));
      return `grew by ${more.length} bytes`;
    }
  }
}

function allocated(path: string): number {
  return statSync(path).blocks * 512;
}

describe(`deltas and holes, through the real pipeline (seed ${seed}; replay with SKIFF_FAULT_SEED=${seed})`, () => {
  const rand = prng(seed);
  let base: string;
  let project: string;
  let agentRoot: string;
  let agent: FaultAgent;

  const push = (): Promise<PushResult> => runPush({ dir: project, connect: () => AgentClient.connect(agent.url, agent.token), timeoutMs: PUSH_TIMEOUT_MS });

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'skiff-delta-'));
    project = join(base, 'project');
    agentRoot = join(base, 'agent-root');
    await mkdir(join(project, 'data'), { recursive: true });
    writeFileSync(join(project, BIG), rand.bytes(BIG_BYTES));
    writeFileSync(join(project, 'small.txt'), 'small\n');
    const fd = openSync(join(project, IMAGE), 'w');
    for (let i = 0; i < 8; i++) writeSync(fd, rand.bytes(IMAGE_EXTENT), 0, IMAGE_EXTENT, rand.int(0, IMAGE_BYTES / IMAGE_EXTENT - 1) * IMAGE_EXTENT);
    ftruncateSync(fd, IMAGE_BYTES);
    closeSync(fd);
    agent = await FaultAgent.start(agentRoot);
  });
  afterAll(async () => {
    await agent?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('a first sync keeps the image sparse and the agent equal to the source', async () => {
    const result = await push();
    expect(result).toMatchObject({ inSync: true, problems: [] });
    expect(await compareTrees(project, agentRoot, skipIndex)).toEqual([]);
    // Its holes did not travel either.
    expect(result.bytes).toBeLessThan(BIG_BYTES + IMAGE_BYTES / 4);
    expect(allocated(join(agentRoot, IMAGE))).toBeLessThanOrEqual(allocated(join(project, IMAGE)) + 64 * 1024);
  });

  it(`after each of ${ROUNDS} seeded edits the agent holds the source byte for byte, having received a delta`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const kind = EDITS[round % EDITS.length];
      const what = edit(join(project, BIG), kind, rand);
      // The image gets data written into one of its holes, or a data extent zeroed.
      const fd = openSync(join(project, IMAGE), 'r+');
      const block = rand.int(0, IMAGE_BYTES / IMAGE_EXTENT) * IMAGE_EXTENT;
      writeSync(fd, round % 2 ? rand.bytes(IMAGE_EXTENT) : Buffer.alloc(IMAGE_EXTENT), 0, IMAGE_EXTENT, block);
      closeSync(fd);
      const where = `seed ${seed}, round ${round}: ${BIG} ${what}; ${IMAGE} block at ${block} ${round % 2 ? 'written' : 'zeroed'}`;

      const result = await push();
      expect({ inSync: result.inSync, problems: result.problems }, where).toEqual({ inSync: true, problems: [] });
      expect(await compareTrees(project, agentRoot, skipIndex), where).toEqual([]);
      expect(await tempFilesUnder(agentRoot), where).toEqual([]);
      const size = statSync(join(project, BIG)).size;
      if (SMALL_DELTA_EDITS.has(kind)) expect(result.bytes, `${where}: bytes sent`).toBeLessThan(size / 8 + IMAGE_EXTENT + 512 * 1024);
      expect(allocated(join(agentRoot, IMAGE)), `${where}: the image stays sparse`).toBeLessThanOrEqual(allocated(join(project, IMAGE)) + 256 * 1024);
    }
  }, ROUNDS * 10_000);

  it('an agent that does not announce spans (an older one) gets whole files, and ends in sync', async () => {
    edit(join(project, BIG), Edit.OVERWRITE, rand);
    const olderAgent = async () => {
      const client = await AgentClient.connect(agent.url, agent.token);
      // What an agent from before SPAN says in its HELLO.
      client.hello.capabilities = (client.hello.capabilities ?? []).filter((c) => c !== Capability.SPANS);
      return client;
    };
    const result = await runPush({ dir: project, connect: olderAgent, timeoutMs: PUSH_TIMEOUT_MS });
    expect({ inSync: result.inSync, problems: result.problems }).toEqual({ inSync: true, problems: [] });
    expect(result.bytes).toBeGreaterThanOrEqual(statSync(join(project, BIG)).size);
    expect(await compareTrees(project, agentRoot, skipIndex)).toEqual([]);
  });

  it('a base changed behind the agent’s back makes the delta fail its check; the file is sent whole and the push ends in sync', async () => {
    edit(join(project, BIG), Edit.OVERWRITE, rand);
    // Someone rewrites bytes of the agent's copy without the agent knowing: its manifest still says the old hash.
    const fd = openSync(join(agentRoot, BIG), 'r+');
    writeSync(fd, Buffer.from('tampered'), 0, 8, 1024);
    closeSync(fd);
    const result = await push();
    expect({ inSync: result.inSync, problems: result.problems }).toEqual({ inSync: true, problems: [] });
    expect(result.bytes).toBeGreaterThanOrEqual(statSync(join(project, BIG)).size);
    expect(await compareTrees(project, agentRoot, skipIndex)).toEqual([]);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
  });
});
