import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';
import { compareTrees, listTree } from './support/tree-compare.ts';

const FILES = 30;

async function fillProject(dir: string, tag = 'v1'): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  for (let i = 0; i < FILES; i++) await writeFile(join(dir, 'src', `f${i}.txt`), `${tag} ${i}\n`);
}

const fileCount = async (dir: string) => [...(await listTree(dir)).values()].filter((d) => d.startsWith('file')).length;

describe('safety against mass deletion', () => {
  let work: string;
  let project: string;
  let agentRoot: string;
  let env: NodeJS.ProcessEnv;
  const terminals: DevTerminal[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-mass-'));
    project = join(work, 'project');
    agentRoot = join(work, 'agent-root');
    env = (await privateRuntime()).env;
    await fillProject(project);
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  const push = (...extra: string[]) => runSkiff(['push', project, '--local-root', agentRoot, '--json', ...extra], { env });

  it('a push of an emptied project stops, changes nothing, and goes through with --force', async () => {
    expect((await push()).code).toBe(0);
    await rm(join(project, 'src'), { recursive: true });
    const refused = await push();
    expect(refused.code).toBe(1);
    expect(jsonOf(refused)).toMatchObject({ ok: false, error: { code: 'SKIFF_E_MASS_DELETION', message: expect.stringContaining('--force') } });
    expect(await fileCount(agentRoot)).toBe(FILES);
    const forced = await push('--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(await fileCount(agentRoot)).toBe(0);
  });

  it('a push of a project replaced by another tree stops', async () => {
    expect((await push()).code).toBe(0);
    await rename(project, join(work, 'moved-away'));
    await mkdir(join(project, 'other'), { recursive: true });
    for (let i = 0; i < 3; i++) await writeFile(join(project, 'other', `o${i}`), 'other\n');
    const refused = await push();
    expect(jsonOf(refused)).toMatchObject({ ok: false, error: { code: 'SKIFF_E_MASS_DELETION' } });
    expect(await compareTrees(join(work, 'moved-away'), agentRoot, (rel) => rel === '.skiff')).toEqual([]);
  });

  it('a session halts when the project is emptied or vanishes, resumes when it is back, and --force mirrors the deletion', async () => {
    const t = new DevTerminal([project, '--local-root', agentRoot], env);
    terminals.push(t);
    await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'initial');

    let mark = t.events.length;
    for (const name of await readdir(join(project, 'src'))) await rm(join(project, 'src', name));
    await t.waitFor((e) => e.event === 'session.state' && e.data.state === 'halted', 20_000, mark);
    const failed = t.events.slice(mark).find((e) => e.event === 'sync.failed');
    expect(failed?.data.code).toBe('SKIFF_E_MASS_DELETION');
    expect(await fileCount(agentRoot)).toBe(FILES);
    const status = jsonOf<{ session: { state: string; error: { code: string } } }>(await runSkiff(['status', project, '--json'], { env }));
    expect(status.session).toMatchObject({ state: 'halted', error: { code: 'SKIFF_E_MASS_DELETION' } });

    // The files come back (a remount, a checkout): syncing resumes by itself.
    mark = t.events.length;
    await fillProject(project, 'v2');
    await t.waitFor((e) => e.event === 'sync.finished' && e.data.inSync === true, 20_000, mark);
    expect(await compareTrees(project, agentRoot, (rel) => rel === '.skiff')).toEqual([]);

    // The whole project directory vanishes: still nothing deleted on the agent.
    mark = t.events.length;
    await rename(project, join(work, 'gone'));
    await t.waitFor((e) => e.event === 'sync.failed' || e.event === 'sync.problem', 20_000, mark);
    await new Promise((r) => setTimeout(r, 500));
    expect(await fileCount(agentRoot)).toBe(FILES);

    // Back, emptied on purpose, and forced.
    await rename(join(work, 'gone'), project);
    await rm(join(project, 'src'), { recursive: true });
    const forced = await push('--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(await fileCount(agentRoot)).toBe(0);
  });
});
