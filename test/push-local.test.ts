import { mkdtemp, rename, rm, unlink, writeFile, chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTrees, listTree } from './support/tree-compare.ts';
import { generateProject, type GeneratedTree } from './support/gen-tree.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';

interface PushJson {
  ok: boolean;
  uploaded: number;
  copied: number;
  deleted: number;
  bytes: number;
  durationMs: number;
  inSync: boolean;
  problems: unknown[];
}

describe('skiff push on the local target', () => {
  let work: string;
  let project: string;
  let agentRoot: string;
  let tree: GeneratedTree;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-push-'));
    project = join(work, 'project');
    agentRoot = join(work, 'agent-root');
    tree = await generateProject(project, 2100, 7);
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const skipInSource = (ignored: string[]) => (rel: string) => rel === '.skiff' || ignored.includes(rel);
  const push = async () => {
    const r = await runSkiff(['push', project, '--local-root', agentRoot, '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    return jsonOf<PushJson>(r);
  };

  it('first push lands every non-ignored file byte for byte and mode for mode', async () => {
    const result = await push();
    expect(result.ok).toBe(true);
    expect(result.inSync).toBe(true);
    expect(result.uploaded).toBeGreaterThanOrEqual(tree.files);
    expect(result.bytes).toBeGreaterThan(3 * 1024 * 1024);
    expect(await compareTrees(project, agentRoot, skipInSource(tree.ignored))).toEqual([]);
    // Ignored paths never reached the agent.
    for (const rel of tree.ignored) {
      await expect(import('node:fs/promises').then((fs) => fs.lstat(join(agentRoot, rel)))).rejects.toThrow();
    }
  });

  it('after edits, deletes and renames, a push sends only those and converges', async () => {
    await writeFile(join(project, 'src', 'sub1', 'edited.txt'), 'new content\n');
    await unlink(join(project, 'run.sh'));
    await rename(join(project, 'big.bin'), join(project, 'docs', 'big-renamed.bin'));
    await rm(join(project, 'assets'), { recursive: true, force: true });
    await mkdir(join(project, 'fresh dir ✓'), { recursive: true });
    await writeFile(join(project, 'fresh dir ✓', 'tool'), '#!/bin/sh\n');
    await chmod(join(project, 'fresh dir ✓', 'tool'), 0o750);
    const result = await push();
    expect(result.inSync).toBe(true);
    // The edit and the new tool; the renamed file is placed from its old name, its bytes not sent again.
    expect(result.uploaded).toBe(2);
    expect(result.copied).toBe(1);
    expect(result.deleted).toBeGreaterThanOrEqual(3); // run.sh, big.bin's old name, assets/
    expect(await compareTrees(project, agentRoot, skipInSource(tree.ignored))).toEqual([]);
  });

  it('a push with nothing changed sends no file content', async () => {
    const result = await push();
    expect(result).toMatchObject({ ok: true, uploaded: 0, deleted: 0, bytes: 0, inSync: true });
  });

  it('a push after the agent lost its files sends everything again', async () => {
    await rm(agentRoot, { recursive: true, force: true });
    const result = await push();
    const source = await listTree(project, skipInSource(tree.ignored));
    expect(result.uploaded).toBe([...source.values()].filter((d) => d.startsWith('file')).length);
    expect(await compareTrees(project, agentRoot, skipInSource(tree.ignored))).toEqual([]);
  });

  it('human output says what was sent', async () => {
    await writeFile(join(project, 'src', 'sub1', 'edited.txt'), 'newer content\n');
    const r = await runSkiff(['push', project, '--local-root', agentRoot]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Sent 1 file \(14 B\) in \d+/);
  });
});
