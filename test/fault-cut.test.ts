import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient, runPush, type PushResult } from '@skiff/daemon';
import { FaultAgent } from './support/fault-agent.ts';
import { FaultProxy } from './support/fault-proxy.ts';
import { FAULT_LONG, faultSeed, prng } from './support/fault-seed.ts';
import { treeStates } from './support/fault-tree.ts';
import { expectCleanCut, expectConverged } from './support/fault-round.ts';
import { checkMixedVersions } from './support/fault-versions.ts';
import { batchSpan, type BatchSpan } from './support/fault-wire.ts';
import { compareTrees } from './support/tree-compare.ts';

/**
 * The daemon's real sender (runPush: scan, AgentClient, SyncEngine,
 * sendBatch) pushes into a real agent through a proxy that cuts the link
 * after exactly N bytes from the daemon, N drawn inside the batch. The
 * batches are a first sync (hundreds of files, two multi-MiB files sent in
 * chunks, symlinks) and edit rounds (rewrites, deletes, renames of files and
 * of a directory, mode changes, new and retargeted links).
 *
 * After each cut, before anything else touches the agent: no temporary file
 * anywhere in its root, and every path holds its version from before the
 * batch or from after it, byte for byte (nothing partial, nothing lost). Then
 * a fresh push must bring the root to exactly the source.
 */
const seed = faultSeed();
const CUT_POINTS = FAULT_LONG ? 400 : 50;
const PUSH_TIMEOUT_MS = 30_000;
/** Time allowed per cut (a cut push, the checks, a converging push, the comparison): ~0.5 s here. */
const ROUND_TIMEOUT_MS = 3_000;
/** Rounds cycle through these syncs between tree states: first sync, two edit rounds, and back. */
const TRANSITIONS: ReadonlyArray<readonly [number, number]> = [
  [0, 1],
  [1, 2],
  [2, 3],
  [3, 1],
];
const skipIndex = (rel: string) => rel === '.skiff';

describe(`a link cut at ${CUT_POINTS} seeded byte offsets inside a batch (seed ${seed}; replay with SKIFF_FAULT_SEED=${seed})`, () => {
  const rand = prng(seed);
  const spans = new Map<string, BatchSpan>();
  let base: string;
  let agentRoot: string;
  let states: string[];
  let agent: FaultAgent;
  let proxy: FaultProxy;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'skiff-fault-cut-'));
    agentRoot = join(base, 'agent-root');
    states = await treeStates(join(base, 'states'), rand);
    agent = await FaultAgent.start(agentRoot);
    proxy = await FaultProxy.start({ host: agent.handle.host, port: agent.handle.port });
  });
  afterAll(async () => {
    await proxy?.close();
    await agent?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  const push = (dir: string, via: 'proxy' | 'direct'): Promise<PushResult> =>
    runPush({ dir, connect: () => AgentClient.connect(via === 'proxy' ? proxy.url : agent.url, agent.token), timeoutMs: PUSH_TIMEOUT_MS });

  /** An agent over an empty root, as before a first sync. */
  async function restartEmpty(): Promise<void> {
    await agent.close();
    await rm(agentRoot, { recursive: true, force: true });
    agent = await FaultAgent.start(agentRoot);
    proxy.target = { host: agent.handle.host, port: agent.handle.port };
  }

  /** The first two laps cut each sync at its edges: before its first byte, and before its last. */
  function cutPoint(round: number, span: BatchSpan): number {
    const lap = Math.floor(round / TRANSITIONS.length);
    if (lap === 0) return span.start;
    if (lap === 1) return span.end - 1;
    return rand.int(span.start, span.end);
  }

  it('uncut, each sync converges; where each batch lies on the wire is measured', async () => {
    // Every state's index saved first, as each push of the rounds finds it: a push walks a tree its index
    // describes in one call into the addon, and a first sync's frames go in the order of the walk, so
    // where its last byte lies depends on which walk made it.
    for (const state of states.slice(1)) expect(await push(state, 'direct')).toMatchObject({ inSync: true });
    await restartEmpty();
    proxy.record = true;
    for (const [from, to] of TRANSITIONS) {
      const result = await push(states[to], 'proxy');
      expect(result, `seed ${seed}, state ${from} → ${to}`).toMatchObject({ inSync: true, problems: [] });
      expect(await compareTrees(states[to], agentRoot, skipIndex)).toEqual([]);
      spans.set(`${from}-${to}`, batchSpan(Buffer.concat(proxy.connections.at(-1)!.recorded)));
    }
    proxy.record = false;
  });

  it('after every cut each path holds its old or its new version, no temporary file is left, and a fresh push converges', async () => {
    expect(spans.size, 'the batches were measured').toBe(TRANSITIONS.length);
    let randomRounds = 0;
    let mixedRounds = 0;
    for (let round = 0; round < CUT_POINTS; round++) {
      const [from, to] = TRANSITIONS[round % TRANSITIONS.length];
      if (from === 0) await restartEmpty();
      const span = spans.get(`${from}-${to}`)!;
      const cutAt = cutPoint(round, span);
      const where = `seed ${seed}, round ${round}, state ${from} → ${to}, cut after ${cutAt} bytes (batch at ${span.start}..${span.end})`;

      proxy.cutNextAfter(cutAt);
      await expectCleanCut(push(states[to], 'proxy'), proxy, agent, agentRoot, where);
      const mixed = await checkMixedVersions(agentRoot, states[from], states[to], skipIndex);
      expect(mixed.problems, where).toEqual([]);
      // A first sync into an empty root is staged and moved in whole at its commit: a cut leaves
      // all of it or none, never a mix, so only the other transitions count towards the ratio.
      if (round >= 2 * TRANSITIONS.length && from !== 0) randomRounds++;
      if (from !== 0 && mixed.landed > 0 && mixed.waiting > 0) mixedRounds++;

      await expectConverged(await push(states[to], 'direct'), states[to], agentRoot, where);
    }
    // The cuts must have caught batches half applied, or the checks above prove little.
    expect(mixedRounds, `seed ${seed}: rounds that cut a batch half applied`).toBeGreaterThanOrEqual(randomRounds / 2);
  }, CUT_POINTS * ROUND_TIMEOUT_MS);
});
