import { closeSync, ftruncateSync, openSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient, runPush, type PushResult } from '@skiff/daemon';
import { FaultAgent } from './support/fault-agent.ts';
import { FaultProxy } from './support/fault-proxy.ts';
import { FAULT_LONG, faultSeed, prng } from './support/fault-seed.ts';
import { expectCleanCut, expectConverged } from './support/fault-round.ts';
import { checkMixedVersions } from './support/fault-versions.ts';
import { batchSpan, type BatchSpan } from './support/fault-wire.ts';
import { compareTrees } from './support/tree-compare.ts';

/**
 * A link cut in the middle of a delta, as test/fault-cut.test.ts does for
 * whole files: the daemon's real sender pushes a change of large files (bytes
 * overwritten in place, bytes inserted, data written into a sparse image's
 * hole and a data extent zeroed) into a real agent holding the previous
 * version, through a proxy that cuts the link after N bytes, N drawn inside
 * the batch. The batch is made of SPAN runs copied from the agent's copies
 * and literal chunks, one file's pieces spread over several messages.
 *
 * After each cut, before anything else touches the agent: no temporary file
 * in its root, and every path holds its old or its new version byte for byte
 * (a delta half applied never replaces its base). Then a fresh push must
 * bring the root to exactly the new version, and the agent is brought back
 * to the old one for the next round (both through deltas).
 */
const seed = faultSeed();
const CUT_POINTS = FAULT_LONG ? 200 : 24;
const PUSH_TIMEOUT_MS = 30_000;
const ROUND_TIMEOUT_MS = 5_000;
const MIB = 2 ** 20;
const EXTENT = 64 * 1024;
const skipIndex = (rel: string) => rel === '.skiff';

/**
 * The project's two versions, the same for the same seed: `v` 0 is the base,
 * 1 the edit. Written over `dir` (files replaced whole, the image sparse).
 */
function writeVersion(dir: string, v: 0 | 1, seed: number): void {
  const rand = prng(seed);
  const inPlace = rand.bytes(8 * MIB);
  const shifted = rand.bytes(3 * MIB);
  const extents = Array.from({ length: 6 }, () => ({ at: rand.int(0, 256) * EXTENT, bytes: rand.bytes(EXTENT) }));
  // Edits at 40 places: the delta's literal chunks and its copied runs alternate over several
  // messages, so that a cut falls between two parts of one file, not only between files.
  const edits = Array.from({ length: 40 }, () => ({ at: rand.int(0, inPlace.length - 8), bytes: rand.bytes(8) }));
  if (v === 1) for (const e of edits) e.bytes.copy(inPlace, e.at);
  const insertAt = rand.int(0, shifted.length);
  const inserted = rand.bytes(1000);
  writeFileSync(join(dir, 'in-place.bin'), inPlace);
  writeFileSync(join(dir, 'data', 'shifted.bin'), v === 1 ? Buffer.concat([shifted.subarray(0, insertAt), inserted, shifted.subarray(insertAt)]) : shifted);
  const fd = openSync(join(dir, 'disk.img'), 'w');
  const newExtent = { at: rand.int(0, 256) * EXTENT, bytes: rand.bytes(EXTENT) };
  for (const [i, e] of extents.entries()) if (!(v === 1 && i === 0)) writeSync(fd, e.bytes, 0, EXTENT, e.at);
  if (v === 1) writeSync(fd, newExtent.bytes, 0, EXTENT, newExtent.at);
  ftruncateSync(fd, 16 * MIB);
  closeSync(fd);
  writeFileSync(join(dir, 'notes.txt'), v === 1 ? 'second version\n' : 'first version\n');
  // The same mtimes for the same version: each file's header (its mtime among the fields) is then the same
  // length in every round, and the batch's bytes sit where the uncut push measured them (a cut "before the
  // last byte" once fell after the end of a batch a few header bytes shorter).
  const mtime = new Date(Date.UTC(2026, 0, 1 + v, 12, 0, 0));
  for (const rel of ['in-place.bin', 'data/shifted.bin', 'disk.img', 'notes.txt']) utimesSync(join(dir, rel), mtime, mtime);
}

async function versionDir(base: string, name: string, v: 0 | 1): Promise<string> {
  const dir = join(base, name);
  await mkdir(join(dir, 'data'), { recursive: true });
  writeVersion(dir, v, seed);
  return dir;
}

describe(`a link cut at ${CUT_POINTS} seeded byte offsets inside a delta (seed ${seed}; replay with SKIFF_FAULT_SEED=${seed})`, () => {
  const rand = prng(seed ^ 0x5a5a);
  let base: string;
  let project: string;
  let v0: string;
  let v1: string;
  let agentRoot: string;
  let agent: FaultAgent;
  let proxy: FaultProxy;
  let span: BatchSpan;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'skiff-fault-delta-'));
    v0 = await versionDir(base, 'v0', 0);
    v1 = await versionDir(base, 'v1', 1);
    project = await versionDir(base, 'project', 0);
    agentRoot = join(base, 'agent-root');
    agent = await FaultAgent.start(agentRoot);
    proxy = await FaultProxy.start({ host: agent.handle.host, port: agent.handle.port });
  });
  afterAll(async () => {
    await proxy?.close();
    await agent?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  const push = (via: 'proxy' | 'direct'): Promise<PushResult> =>
    runPush({ dir: project, connect: () => AgentClient.connect(via === 'proxy' ? proxy.url : agent.url, agent.token), timeoutMs: PUSH_TIMEOUT_MS });

  /** Puts version `v` in the project and pushes it directly; the agent then holds it. */
  async function settle(v: 0 | 1): Promise<void> {
    writeVersion(project, v, seed);
    const result = await push('direct');
    expect(result, `seed ${seed}: settling on version ${v}`).toMatchObject({ inSync: true, problems: [] });
    expect(await compareTrees(v ? v1 : v0, agentRoot, skipIndex)).toEqual([]);
  }

  it('uncut, the delta converges, far smaller than the files; where it lies on the wire is measured', async () => {
    await settle(0);
    writeVersion(project, 1, seed);
    proxy.record = true;
    const result = await push('proxy');
    proxy.record = false;
    expect(result).toMatchObject({ inSync: true, problems: [] });
    expect(result.bytes).toBeLessThan(6 * MIB);
    expect(await compareTrees(v1, agentRoot, skipIndex)).toEqual([]);
    span = batchSpan(Buffer.concat(proxy.connections.at(-1)!.recorded));
    await settle(0);
  });

  it('after every cut each file holds its old or its new version, no temporary file is left, and a fresh push converges', async () => {
    expect(span, 'the batch was measured').toBeDefined();
    let mixedRounds = 0;
    for (let round = 0; round < CUT_POINTS; round++) {
      const cutAt = round === 0 ? span.start : round === 1 ? span.end - 1 : rand.int(span.start, span.end);
      const where = `seed ${seed}, round ${round}, cut after ${cutAt} bytes (batch at ${span.start}..${span.end})`;
      writeVersion(project, 1, seed);
      proxy.cutNextAfter(cutAt);
      await expectCleanCut(push('proxy'), proxy, agent, agentRoot, where);
      const mixed = await checkMixedVersions(agentRoot, v0, v1, skipIndex);
      expect(mixed.problems, where).toEqual([]);
      if (mixed.landed > 0 && mixed.waiting > 0) mixedRounds++;

      await expectConverged(await push('direct'), v1, agentRoot, where);
      await settle(0);
    }
    // Some cuts must have caught the batch half applied, or the checks above prove little.
    expect(mixedRounds, `seed ${seed}: rounds that cut the batch half applied`).toBeGreaterThan(0);
  }, CUT_POINTS * ROUND_TIMEOUT_MS);
});
