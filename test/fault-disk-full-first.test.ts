import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@skiff/protocol';
import { AgentClient, runPush } from '@skiff/daemon';
import { FaultAgent } from './support/fault-agent.ts';
import { DISK_BYTES, ROOMY_DISK_BYTES } from './support/fault-disk.ts';
import { AgentOnSmallDisk } from './support/fault-small-disk.ts';
import { tmpfsUnavailable } from './support/fault-tmpfs.ts';
import { tempFilesUnder } from './support/fault-versions.ts';
import { compareTrees } from './support/tree-compare.ts';
import { walkNoFollow } from './support/tree-snapshot.ts';

/**
 * A first sync that does not fit: a fresh agent on a 2 MiB tmpfs gets a
 * project of ~5 MiB of small files, the very files the agent writes from its
 * addon into the stage of a first sync (apply/fast-files.ts). The kernel's
 * ENOSPC must come back as SKIFF_E_DISK_FULL for each file that did not
 * land, every file that did land must be whole and equal to the source,
 * nothing temporary may be left, and once the disk grows the next push
 * converges.
 */
const unavailable = await tmpfsUnavailable();
const PUSH_TIMEOUT_MS = 30_000;
const FILES = 600;
const FILE_BYTES = 9_000;

describe.skipIf(unavailable !== null)(`a first sync into a full disk${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let small: AgentOnSmallDisk;
  let project: string;
  let agentRoot: string;
  let agent: FaultAgent;

  beforeAll(async () => {
    small = await AgentOnSmallDisk.start('skiff-fault-disk-first-', DISK_BYTES);
    ({ project, agentRoot } = small);
    agent = small.agent!;
    for (let i = 0; i < FILES; i++) {
      await mkdir(join(project, `d${i % 7}`), { recursive: true });
      await writeFile(join(project, `d${i % 7}`, `f${i}.txt`), `${i}:`.padEnd(FILE_BYTES, String.fromCharCode(97 + (i % 26))));
    }
  });
  afterAll(() => small?.close());

  const push = () => runPush({ dir: project, connect: () => AgentClient.connect(agent.url, agent.token), timeoutMs: PUSH_TIMEOUT_MS });

  it('reports each file that did not land as SKIFF_E_DISK_FULL, lands the others whole, leaves nothing temporary', async () => {
    const result = await push();
    expect(result.inSync).toBe(false);
    expect(result.problems.length).toBeGreaterThan(FILES / 10);
    expect(new Set(result.problems.map((p) => p.code))).toEqual(new Set([ErrorCode.DISK_FULL]));
    // The APPLIED header holds what fits of them and one last problem saying how many more there were (applied.ts).
    const omitted = result.problems.map((p) => /^(\d+) more problems were left out/.exec(p.message)).find((m) => m !== null);
    const missing = new Set(result.problems.filter((p) => !/more problems were left out/.test(p.message)).map((p) => p.path));
    const landed = walkNoFollow(agentRoot).filter((rel) => rel.endsWith('.txt'));
    expect(landed.length).toBeGreaterThan(0);
    expect(landed.length + missing.size + (omitted ? Number(omitted[1]) : 0)).toBe(FILES);
    for (const rel of landed) {
      expect(missing.has(rel), rel).toBe(false);
      expect((await readFile(join(agentRoot, rel))).equals(await readFile(join(project, rel))), `${rel} is whole`).toBe(true);
    }
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
  });

  it('once the disk grows, the next push converges', async () => {
    await small.resize(ROOMY_DISK_BYTES);
    const result = await push();
    expect(result).toMatchObject({ inSync: true, problems: [] });
    expect(await compareTrees(project, agentRoot, (rel) => rel === '.skiff')).toEqual([]);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
  });
});
