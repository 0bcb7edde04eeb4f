import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@skiff/protocol';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { initialSync } from './support/fault-daemon.ts';
import { DISK_BYTES, ROOMY_DISK_BYTES, writeFittingTree, writeOverflowingEdits } from './support/fault-disk.ts';
import { mountTmpfs, resizeTmpfs, tmpfsUnavailable, unmountTmpfs } from './support/fault-tmpfs.ts';
import { tempFilesUnder } from './support/fault-versions.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';
import { compareTrees } from './support/tree-compare.ts';

/**
 * A full agent disk as the user sees it: the local agent's root on a 2 MiB
 * tmpfs. `skiff push --json` (one shot, and through a running session) exits
 * 1 and lists the files that did not fit with SKIFF_E_DISK_FULL; a session's
 * sync.finished and sync.problem events carry the same; once the disk grows,
 * a push exits 0 with the agent in sync.
 */
const unavailable = await tmpfsUnavailable();
const PROBLEM_WAIT_MS = 30_000;

interface PushJson {
  ok: boolean;
  inSync: boolean;
  session?: boolean;
  problems: Array<{ path: string; code: string; message: string }>;
}

describe.skipIf(unavailable !== null)(`a full agent disk through the skiff command${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let project: string;
  let disk: string;
  let mounted = false;
  let agentRoot: string;
  const terminals: DevTerminal[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-fault-disk-cli-'));
    env = (await privateRuntime()).env;
    project = join(work, 'project');
    disk = join(work, 'disk');
    await mkdir(disk);
    await mountTmpfs(disk, DISK_BYTES);
    mounted = true;
    agentRoot = join(disk, 'root');
    await writeFittingTree(project);
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    if (mounted) await unmountTmpfs(disk);
    mounted = false;
    await rm(work, { recursive: true, force: true });
  });

  const skipIndex = (rel: string) => rel === '.skiff';
  const codes = (problems: Array<{ path: string; code: string }>) => problems.map((p) => [p.path, p.code]).sort();
  const diskFull = (paths: string[]) => [...paths].sort().map((p) => [p, ErrorCode.DISK_FULL]);
  const push = async (args: string[]) => {
    const r = await runSkiff(['push', project, ...args, '--json'], { env, timeoutMs: 60_000 });
    return { code: r.code, json: jsonOf<PushJson>(r), stderr: r.stderr };
  };

  it('skiff push --json exits 1 listing SKIFF_E_DISK_FULL for the files that did not fit, keeps the old bytes, then converges once the disk grows', async () => {
    expect((await push(['--local-root', agentRoot])).code).toBe(0);
    const edits = await writeOverflowingEdits(project, join(work, 'staging'));

    const full = await push(['--local-root', agentRoot]);
    expect(full.code, full.stderr).toBe(1);
    expect(full.json).toMatchObject({ ok: false, inSync: false });
    expect(codes(full.json.problems)).toEqual(diskFull(edits.tooBig));
    for (const p of full.json.problems) expect(p.message).toMatch(/no space left/);
    for (const [rel, bytes] of edits.previous) expect((await readFile(join(agentRoot, rel))).equals(bytes), `${rel} keeps its previous version`).toBe(true);
    expect(await compareTrees(project, agentRoot, (rel) => skipIndex(rel) || edits.tooBig.includes(rel))).toEqual([]);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);

    await resizeTmpfs(disk, ROOMY_DISK_BYTES);
    const roomy = await push(['--local-root', agentRoot]);
    expect(roomy.code, roomy.stderr).toBe(0);
    expect(roomy.json).toMatchObject({ ok: true, inSync: true, problems: [] });
    expect(await compareTrees(project, agentRoot, skipIndex)).toEqual([]);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
  });

  it('a session reports SKIFF_E_DISK_FULL in sync.finished and sync.problem; a push through it exits 1 with them; it converges once the disk grows', async () => {
    const t = new DevTerminal([project, '--local-root', agentRoot], env);
    terminals.push(t);
    expect((await initialSync(t)).data.inSync).toBe(true);
    const mark = t.events.length;
    const edits = await writeOverflowingEdits(project, join(work, 'staging'));

    const reported = (path: string) => t.events.slice(mark).some((e) => e.event === 'sync.problem' && e.data.path === path && e.data.code === ErrorCode.DISK_FULL);
    await t.waitFor(() => edits.tooBig.every(reported), PROBLEM_WAIT_MS, mark);
    const finished = t.finished().filter((e) => t.events.indexOf(e) >= mark);
    const inFinished = finished.flatMap((e) => e.data.problems as Array<{ path: string; code: string }>);
    expect(codes(inFinished)).toEqual(diskFull(edits.tooBig));
    for (const e of finished.filter((f) => f.data.problems.length > 0)) expect(e.data.inSync).toBe(false);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);

    const full = await push([]);
    expect(full.code, full.stderr).toBe(1);
    expect(full.json).toMatchObject({ ok: false, session: true });
    expect(codes(full.json.problems)).toEqual(diskFull(edits.tooBig));

    await resizeTmpfs(disk, ROOMY_DISK_BYTES);
    const roomy = await push([]);
    expect(roomy.code, roomy.stderr).toBe(0);
    expect(roomy.json).toMatchObject({ ok: true, inSync: true, problems: [], session: true });
    expect(await compareTrees(project, agentRoot, skipIndex)).toEqual([]);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
  });
});
