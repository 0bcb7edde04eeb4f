import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type AppliedHeader } from '@skiff/protocol';
import { AgentClient, runPush, type PushResult } from '@skiff/daemon';
import { FaultAgent } from './support/fault-agent.ts';
import { DISK_BYTES, OVERSIZED_BYTES, ROOMY_DISK_BYTES, writeFittingTree, writeOverflowingEdits, type OverflowingEdits } from './support/fault-disk.ts';
import { AgentOnSmallDisk } from './support/fault-small-disk.ts';
import { tmpfsUnavailable } from './support/fault-tmpfs.ts';
import { tempFilesUnder } from './support/fault-versions.ts';
import { compareTrees } from './support/tree-compare.ts';

/**
 * An in-process agent whose root is a 2 MiB tmpfs, fed by the daemon's real
 * push. The kernel's ENOSPC (short writes included) must become a per-file
 * SKIFF_E_DISK_FULL in the batch's APPLIED and in the push result, keep the
 * previous version of a file being replaced, leave no temporary file, and not
 * stop the rest of the batch; once there is room, pushes converge.
 */
const unavailable = await tmpfsUnavailable();
const PUSH_TIMEOUT_MS = 30_000;

describe.skipIf(unavailable !== null)(`a full disk on the agent${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let small: AgentOnSmallDisk;
  let base: string;
  let project: string;
  let agentRoot: string;
  let agent: FaultAgent;
  let edits: OverflowingEdits;

  beforeAll(async () => {
    small = await AgentOnSmallDisk.start('skiff-fault-disk-', DISK_BYTES);
    ({ base, project, agentRoot } = small);
    agent = small.agent!;
  });
  afterAll(() => small?.close());

  /** Pushes the project, keeping the APPLIED headers the agent sent back. */
  async function push(): Promise<{ result: PushResult; applied: AppliedHeader[] }> {
    const applied: AppliedHeader[] = [];
    const connect = async () => {
      const client = await AgentClient.connect(agent.url, agent.token);
      const appliedOf = client.applied.bind(client);
      client.applied = (batch) => {
        const header = appliedOf(batch);
        header.then((h) => applied.push(h), () => undefined);
        return header;
      };
      return client;
    };
    const result = await runPush({ dir: project, connect, timeoutMs: PUSH_TIMEOUT_MS });
    return { result, applied };
  }
  const codes = (problems: Array<{ path: string; code: string }>) => problems.map((p) => [p.path, p.code]).sort();
  const diskFull = (paths: string[]) => [...paths].sort().map((p) => [p, ErrorCode.DISK_FULL]);
  const skipIndex = (rel: string) => rel === '.skiff';

  it('a first tree that fits lands whole', async () => {
    await writeFittingTree(project);
    const { result } = await push();
    expect(result).toMatchObject({ inSync: true, problems: [] });
    expect(await compareTrees(project, agentRoot, skipIndex)).toEqual([]);
  });

  it('files that do not fit come back as SKIFF_E_DISK_FULL; replaced files keep their old bytes; the rest applies; no temporary file', async () => {
    edits = await writeOverflowingEdits(project, join(base, 'staging'));
    const { result, applied } = await push();
    expect(applied).toHaveLength(1);
    expect(codes(applied[0].problems)).toEqual(diskFull(edits.tooBig));
    expect(codes(result.problems)).toEqual(diskFull(edits.tooBig));
    expect(result.inSync).toBe(false);
    for (const [rel, bytes] of edits.previous) expect((await readFile(join(agentRoot, rel))).equals(bytes), `${rel} keeps its previous version`).toBe(true);
    await expect(stat(join(agentRoot, 'fresh/huge.bin'))).rejects.toThrow(/ENOENT/);
    // Everything else is the new version.
    expect(await compareTrees(project, agentRoot, (rel) => skipIndex(rel) || edits.tooBig.includes(rel))).toEqual([]);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
  });

  it('a delete in the source frees the space: its push applies the delete, the next converges', async () => {
    await rm(join(project, 'data/replaced.bin'));
    // Deletes run at commit, after the writes: this batch still has no room for the new file.
    const freeing = await push();
    expect(codes(freeing.result.problems)).toEqual(diskFull(['fresh/huge.bin']));
    await expect(stat(join(agentRoot, 'data/replaced.bin'))).rejects.toThrow(/ENOENT/);
    const { result } = await push();
    expect(result).toMatchObject({ inSync: true, problems: [] });
    expect(await compareTrees(project, agentRoot, skipIndex)).toEqual([]);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
  });

  it('once the disk grows, the next push converges', async () => {
    await writeFile(join(project, 'fresh/huge-2.bin'), randomBytes(OVERSIZED_BYTES));
    const full = await push();
    expect(codes(full.result.problems)).toEqual(diskFull(['fresh/huge-2.bin']));
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
    await small.resize(ROOMY_DISK_BYTES);
    const { result } = await push();
    expect(result).toMatchObject({ inSync: true, problems: [] });
    expect(await compareTrees(project, agentRoot, skipIndex)).toEqual([]);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
  });
});
