import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { lastJsonOf } from './support/cli-json.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';

/**
 * What the daemon's registry of sessions guarantees the user: one agent
 * root per session and one session per agent root, and a failed session
 * that is shown as failed, not as running, until it is started afresh.
 */

interface Listed {
  id: string;
  root: string;
  state: string;
  target: string;
  error: { code: string; message: string } | null;
}

describe('sessions and their agent roots', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let a: string;
  let b: string;
  const terminals: DevTerminal[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-cli-sessions-'));
    env = (await privateRuntime()).env;
    a = join(work, 'a');
    b = join(work, 'b');
    await mkdir(a);
    await mkdir(b);
    await writeFile(join(a, 'from-a.txt'), 'a\n');
    await writeFile(join(b, 'from-b.txt'), 'b\n');
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  const dev = (args: string[]) => {
    const t = new DevTerminal(args, env);
    terminals.push(t);
    return t;
  };
  const initialSynced = (t: DevTerminal) => t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'initial');
  const skiff = (args: string[], cwd?: string) => runSkiff(args, { env, cwd, timeoutMs: 20_000 });

  it('a running session keeps its agent root, and no other project may sync into it', async () => {
    const rootA = join(work, 'root-a');
    await initialSynced(dev([a, '--local-root', rootA]));

    const elsewhere = join(work, 'root-elsewhere');
    const moved = await skiff(['dev', a, '--local-root', elsewhere, '--json']);
    expect(moved.code).toBe(1);
    expect(jsonOf(moved)).toEqual({
      ok: false,
      error: {
        code: 'SKIFF_E_SESSION_CONFLICT',
        message: `the session of ${a} already runs with the agent root ${rootA}, not ${elsewhere}; 'skiff stop ${a}' ends it, then 'skiff dev --local-root ${elsewhere}' starts it there`,
      },
    });
    expect(existsSync(elsewhere)).toBe(false);

    // Another project into the same root, spelled relative to the terminal's directory, or into a directory inside it.
    for (const [root, cwd] of [[basename(rootA), work], [join(rootA, 'nested'), undefined]] as const) {
      const shared = await skiff(['dev', b, '--local-root', root, '--json'], cwd);
      expect(shared.code, shared.stdout).toBe(1);
      const error = jsonOf<{ error: { code: string; message: string } }>(shared).error;
      expect(error.code).toBe('SKIFF_E_ROOT_IN_USE');
      expect(error.message).toContain(`the session of ${a} (${rootA})`);
      expect(error.message).toContain(`'skiff stop ${a}'`);
    }
    const human = await skiff(['dev', b, '--local-root', rootA]);
    expect(human.code).toBe(1);
    expect(human.stderr.trim().split('\n')).toHaveLength(1);
    expect(human.stderr).toContain('[SKIFF_E_ROOT_IN_USE]');
    expect(existsSync(join(rootA, 'from-b.txt'))).toBe(false);
    expect(await readFile(join(rootA, 'from-a.txt'), 'utf8')).toBe('a\n');

    // The same root, spelled otherwise, attaches to the running session.
    const again = dev([a, '--local-root', join(rootA, '..', basename(rootA))]);
    await again.waitFor((e) => e.event === 'session.state');
    const listed = jsonOf<{ sessions: Listed[] }>(await skiff(['sessions', '--json'])).sessions;
    expect(listed.map((s) => s.root)).toEqual([a]);

    // Once a's session ends, its root is free for b.
    expect((await skiff(['stop', a])).code).toBe(0);
    await initialSynced(dev([b, '--local-root', rootA]));
    expect(await readFile(join(rootA, 'from-b.txt'), 'utf8')).toBe('b\n');
  });

  it('a failed session shows as failed (status exits 1), is not pushed through, and the next dev starts it afresh', async () => {
    // An agent root inside the project fails the session when it starts its agent.
    const failing = await skiff(['dev', a, '--local-root', join(a, 'agent'), '--json']);
    expect(failing.code).toBe(1);
    expect(lastJsonOf(failing)).toMatchObject({ ok: false, error: { code: 'SKIFF_E_CONFIG' } });

    const status = await skiff(['status', a]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/session\s+failed — the agent root .* overlap.* \[SKIFF_E_CONFIG\]/);
    expect(status.stdout).not.toMatch(/app\s+|agent\s+connected|in sync/);
    expect(status.stdout).toContain("'skiff dev' starts the session afresh");
    const statusJson = await skiff(['status', a, '--json']);
    expect(statusJson.code).toBe(1);
    expect(jsonOf(statusJson)).toMatchObject({ ok: false, session: { state: 'failed' }, error: { code: 'SKIFF_E_CONFIG' } });

    const listed = await skiff(['sessions']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split('\n')).toHaveLength(1);
    expect(listed.stdout).toMatch(new RegExp(`failed +- +local +${a}  \\[SKIFF_E_CONFIG\\]`));
    expect(jsonOf<{ sessions: Listed[] }>(await skiff(['sessions', '--json'])).sessions).toMatchObject([{ root: a, state: 'failed', error: { code: 'SKIFF_E_CONFIG' } }]);

    // A push does not go through the failed session: it runs one shot.
    const pushed = await skiff(['push', a, '--json']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(jsonOf(pushed)).not.toHaveProperty('session');

    const rootA = join(work, 'root-a');
    const fresh = dev([a, '--local-root', rootA]);
    expect((await initialSynced(fresh)).data).toMatchObject({ uploaded: 1, inSync: true });
    const healthy = await skiff(['status', a, '--json']);
    expect(healthy.code).toBe(0);
    expect(jsonOf(healthy)).toMatchObject({ ok: true, session: { state: 'watching', error: null } });
    const after = jsonOf<{ sessions: Listed[] }>(await skiff(['sessions', '--json'])).sessions;
    expect(after).toMatchObject([{ root: a, state: 'watching', error: null }]);
  });
});
