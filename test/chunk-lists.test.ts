import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHasher, MAX_CHUNK_BYTES } from '@skiff/protocol';
import { AgentClient, runPush } from '@skiff/daemon';
import { FaultAgent } from './support/fault-agent.ts';

/**
 * The chunk lists a push keeps beside its index (.skiff/chunks, one per
 * large file sent by spans, named by its content hash) follow the project:
 * the list of a large file is there after the push that sent it, the list
 * of its last version only once it changed, and none once it is gone;
 * small files never have one. Through runPush into a real agent.
 */
const PUSH_TIMEOUT_MS = 30_000;

describe('chunk lists', () => {
  let base: string;
  let project: string;
  let agent: FaultAgent;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'skiff-chunks-'));
    project = join(base, 'project');
    await mkdir(join(project, 'src'), { recursive: true });
    agent = await FaultAgent.start(join(base, 'agent'));
  });
  afterAll(async () => {
    await agent.handle.close();
    await rm(base, { recursive: true, force: true });
  });

  const push = () => runPush({ dir: project, connect: () => AgentClient.connect(agent.url, agent.token), timeoutMs: PUSH_TIMEOUT_MS });
  const lists = () => readdirSync(join(project, '.skiff', 'chunks')).sort();

  it('keeps the list of each large file as it is now, and none for small ones', async () => {
    const { h64Bytes } = await loadHasher();
    const big = Buffer.alloc(MAX_CHUNK_BYTES * 3 + 7, 'skiff ');
    writeFileSync(join(project, 'big.bin'), big);
    for (let i = 0; i < 20; i++) writeFileSync(join(project, 'src', `f${i}.txt`), `file ${i}\n`);
    expect((await push()).inSync).toBe(true);
    expect(lists()).toEqual([h64Bytes(big)]);

    const changed = Buffer.concat([big, Buffer.from('more')]);
    writeFileSync(join(project, 'big.bin'), changed);
    expect((await push()).inSync).toBe(true);
    expect(lists()).toEqual([h64Bytes(changed)]);

    rmSync(join(project, 'big.bin'));
    expect((await push()).inSync).toBe(true);
    expect(lists()).toEqual([]);
  });
});
