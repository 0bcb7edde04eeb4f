import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, link, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon, type DevEvent } from './support/dev-session.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';
import { compareTrees } from './support/tree-compare.ts';

/**
 * The corners a demanding user hits: what the agent builds under ignored
 * paths, a halted sync, moves, hard links, names the wire cannot carry. Each
 * through the real `skiff` command, a real daemon and a real agent process.
 */
const skipSkiff = (rel: string) => rel === '.skiff';

describe('sync corners', () => {
  let work: string;
  let project: string;
  let agentRoot: string;
  let env: NodeJS.ProcessEnv;
  const terminals: DevTerminal[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-corners-'));
    project = join(work, 'project');
    agentRoot = join(work, 'agent-root');
    env = (await privateRuntime()).env;
    await mkdir(join(project, 'src'), { recursive: true });
    for (let i = 0; i < 40; i++) await writeFile(join(project, 'src', `f${i}.txt`), `content of file ${i}\n`.repeat(20));
    await writeFile(join(project, 'README.md'), 'readme\n');
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  const dev = (...extra: string[]) => {
    const t = new DevTerminal([project, '--local-root', agentRoot, ...extra], env);
    terminals.push(t);
    return t;
  };
  const push = (...extra: string[]) => runSkiff(['push', project, '--local-root', agentRoot, '--json', ...extra], { env });
  const isEvent = (name: string, reason?: string) => (e: DevEvent) => e.event === name && (reason === undefined || e.data.reason === reason);
  const synced = (t: DevTerminal, from: number) => t.waitFor(isEvent('sync.finished', 'watch'), 20_000, from);

  it('what assemble builds under an ignored path survives a push, a session, a reconnect, an agent restart and a daemon restart', async () => {
    await writeFile(join(project, '.gitignore'), 'node_modules/\ndist\n');
    // assemble runs on the agent, in its root, before every start of the app.
    await writeFile(
      join(project, 'skiff.yaml'),
      'run: exec sleep 600\nassemble: mkdir -p node_modules/pkg dist && echo built > node_modules/pkg/index.js && echo out > dist/app.js\n',
    );
    const built = () => existsSync(join(agentRoot, 'node_modules/pkg/index.js')) && existsSync(join(agentRoot, 'dist/app.js'));

    // A one-shot push into a root that holds what an earlier assemble built.
    expect((await push()).code).toBe(0);
    await mkdir(join(agentRoot, 'node_modules/pkg'), { recursive: true });
    await mkdir(join(agentRoot, 'dist'), { recursive: true });
    await writeFile(join(agentRoot, 'node_modules/pkg/index.js'), 'built\n');
    await writeFile(join(agentRoot, 'dist/app.js'), 'out\n');
    await writeFile(join(project, 'README.md'), 'readme v2\n');
    const again = await push();
    expect(jsonOf(again)).toMatchObject({ ok: true, uploaded: 1, deleted: 0 });
    expect(built()).toBe(true);

    // A session: its agent starts afresh on that root (it inventories node_modules) and runs assemble.
    const t = dev();
    await t.waitFor(isEvent('sync.finished', 'initial'));
    await t.waitFor((e) => e.event === 'app.status' && e.data.state === 'running');
    expect(built()).toBe(true);
    let mark = t.events.length;
    await writeFile(join(project, 'src/f1.txt'), 'edited\n');
    expect((await synced(t, mark)).data).toMatchObject({ deleted: 0 });
    expect(built()).toBe(true);

    // The agent is killed: a new one starts on the same root, the session reconnects and verifies.
    const status = jsonOf<{ session: { agent: { pid: number } } }>(await runSkiff(['status', project, '--json'], { env }));
    mark = t.events.length;
    process.kill(status.session.agent.pid, 'SIGKILL');
    const reconnected = await t.waitFor(isEvent('sync.finished', 'reconnect'), 30_000, mark);
    expect(reconnected.data).toMatchObject({ deleted: 0, inSync: true });
    expect(built()).toBe(true);

    // The daemon is stopped and the session started again.
    await t.detach();
    await stopDaemon(env);
    const t2 = dev();
    expect((await t2.waitFor(isEvent('sync.finished', 'initial'))).data).toMatchObject({ deleted: 0, inSync: true });
    expect(built()).toBe(true);

    // A path that becomes ignored stays on the agent as it was (rsync without --delete-excluded).
    mark = t2.events.length;
    await writeFile(join(project, '.gitignore'), 'node_modules/\ndist\nsrc/f2.txt\n');
    await t2.waitFor(isEvent('sync.finished'), 20_000, mark);
    expect(existsSync(join(agentRoot, 'src/f2.txt'))).toBe(true);
    expect(built()).toBe(true);
  });

  it('a halted sync stays halted: later edits do not go out until the files come back, then the whole difference does', async () => {
    const t = dev();
    await t.waitFor(isEvent('sync.finished', 'initial'));
    let mark = t.events.length;
    await rename(join(project, 'src'), join(work, 'src-aside'));
    const failed = await t.waitFor(isEvent('sync.failed'), 20_000, mark);
    expect(failed.data.code).toBe('SKIFF_E_MASS_DELETION');

    // An unrelated edit while halted: nothing may go out as if the deletion had been made.
    mark = t.events.length;
    await writeFile(join(project, 'README.md'), 'edited while halted\n');
    await t.waitFor(isEvent('sync.failed'), 20_000, mark);
    expect(t.events.slice(mark).filter(isEvent('sync.finished'))).toEqual([]);
    expect(await readFile(join(agentRoot, 'README.md'), 'utf8')).toBe('readme\n');
    expect(existsSync(join(agentRoot, 'src/f0.txt'))).toBe(true);
    const halted = jsonOf<{ session: { state: string; inSync: boolean; error: { code: string } } }>(await runSkiff(['status', project, '--json'], { env }));
    expect(halted.session).toMatchObject({ state: 'halted', inSync: false, error: { code: 'SKIFF_E_MASS_DELETION' } });

    // The files come back: the whole difference goes out (the edit included) and the halt ends.
    mark = t.events.length;
    await rename(join(work, 'src-aside'), join(project, 'src'));
    const resumed = await t.waitFor(isEvent('sync.finished'), 20_000, mark);
    expect(resumed.data).toMatchObject({ inSync: true, deleted: 0 });
    expect(await compareTrees(project, agentRoot, skipSkiff)).toEqual([]);
    const healthy = jsonOf<{ session: { state: string; error: unknown } }>(await runSkiff(['status', project, '--json'], { env }));
    expect(healthy.session).toMatchObject({ state: 'watching', error: null });
  });

  it('moving the whole source tree goes out as moves: no content re-sent, no mass-deletion halt', async () => {
    const t = dev();
    await t.waitFor(isEvent('sync.finished', 'initial'));
    const mark = t.events.length;
    await mkdir(join(project, 'app'));
    await rename(join(project, 'src'), join(project, 'app/src'));
    const moved = await synced(t, mark);
    expect(moved.data).toMatchObject({ copied: 40, uploaded: 0, bytes: 0, inSync: true });
    expect(t.events.slice(mark).filter(isEvent('sync.failed'))).toEqual([]);
    expect(await compareTrees(project, agentRoot, skipSkiff)).toEqual([]);

    // A one-shot push of a rename, too.
    await t.detach();
    await stopDaemon(env);
    await rename(join(project, 'app/src/f3.txt'), join(project, 'app/renamed.txt'));
    expect(jsonOf(await push())).toMatchObject({ ok: true, copied: 1, uploaded: 0, bytes: 0, deleted: 1 });
    expect(await compareTrees(project, agentRoot, skipSkiff)).toEqual([]);
  });

  it('a write through one name of a hard-linked file reaches every name on the agent', async () => {
    await link(join(project, 'src/f0.txt'), join(project, 'twin.txt'));
    const t = dev();
    await t.waitFor(isEvent('sync.finished', 'initial'));
    const mark = t.events.length;
    await appendFile(join(project, 'src/f0.txt'), 'appended through one name\n');
    await synced(t, mark);
    const expected = await readFile(join(project, 'twin.txt'), 'utf8');
    expect(expected).toContain('appended through one name');
    expect(await readFile(join(agentRoot, 'twin.txt'), 'utf8')).toBe(expected);
    expect(await readFile(join(agentRoot, 'src/f0.txt'), 'utf8')).toBe(expected);
  });

  it('a name the wire cannot carry is a problem with its code, in a session as in a push, and skiff status lists it', async () => {
    const t = dev();
    await t.waitFor(isEvent('sync.finished', 'initial'));
    const mark = t.events.length;
    // A name that is not UTF-8 needs raw bytes: Node cannot write one, the shell can.
    execFileSync('sh', ['-c', `printf x > "$(printf 'bad\\377.txt')"`], { cwd: project });
    await writeFile(join(project, 'back\\slash.txt'), 'x');
    const codes = new Map<string, string>();
    await t.waitFor((e) => {
      if (e.event === 'sync.problem') codes.set(e.data.path as string, e.data.code as string);
      return codes.size >= 2;
    }, 20_000, mark);
    expect([...codes.values()].sort()).toEqual(['SKIFF_E_PATH_NOT_NORMALISED', 'SKIFF_E_PATH_NOT_UTF8']);
    const status = jsonOf<{ session: { problems: Array<{ code: string }>; problemCount: number } }>(await runSkiff(['status', project, '--json'], { env }));
    expect(status.session.problems.map((p) => p.code).sort()).toEqual(['SKIFF_E_PATH_NOT_NORMALISED', 'SKIFF_E_PATH_NOT_UTF8']);

    // Renamed to something sendable, the problem goes away.
    const mark2 = t.events.length;
    await rename(join(project, 'back\\slash.txt'), join(project, 'slash.txt'));
    await synced(t, mark2);
    const after = jsonOf<{ session: { problems: Array<{ code: string }> } }>(await runSkiff(['status', project, '--json'], { env }));
    expect(after.session.problems.map((p) => p.code)).toEqual(['SKIFF_E_PATH_NOT_UTF8']);

    // A one-shot push reports the same, with the same codes.
    await t.detach();
    await stopDaemon(env);
    const pushed = jsonOf<{ problems: Array<{ code: string }> }>(await push());
    expect(pushed.problems.map((p) => p.code)).toEqual(['SKIFF_E_PATH_NOT_UTF8']);
  });
});
