import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { lastJsonOf } from './support/cli-json.ts';
import { jsonOf, runSkiff, type CliResult } from './support/run-cli.ts';

/**
 * A broken skiff.yaml, and the target a session or a push is for: each
 * error reaches the user once, with its code, as JSON under --json.
 */

/** How many times `text` appears in everything the command printed. */
function timesPrinted(r: CliResult, text: string): number {
  return `${r.stdout}${r.stderr}`.split(text).length - 1;
}

describe('skiff.yaml errors and targets', () => {
  let work: string;
  let project: string;
  let env: NodeJS.ProcessEnv;
  const terminals: DevTerminal[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-cli-config-'));
    env = (await privateRuntime()).env;
    project = join(work, 'project');
    await mkdir(project);
    await writeFile(join(project, 'a.txt'), 'a\n');
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  const skiff = (...args: string[]) => runSkiff(args, { env, timeoutMs: 30_000 });

  it('a broken skiff.yaml is printed once by dev and push, and as {code, message} with --json', async () => {
    await writeFile(join(project, 'skiff.yaml'), 'run: node server.js\nprots: [8080]\n');
    const mistake = 'prots';
    const root = join(work, 'agent-root');
    // Without --target the daemon reads skiff.yaml to pick the target; with it, the session does, and fails.
    for (const args of [
      ['dev', project],
      ['dev', project, '--target', 'local', '--local-root', root],
      ['push', project],
      ['push', project, '--local-root', root],
    ]) {
      const human = await skiff(...args);
      expect(human.code, args.join(' ')).toBe(1);
      expect(timesPrinted(human, mistake), `${args.join(' ')}:\n${human.stdout}${human.stderr}`).toBe(1);
      expect(human.stderr).toContain('unknown field "prots" (did you mean "ports"?)');
      expect(human.stderr).toContain('[SKIFF_E_CONFIG]');

      const json = await skiff(...args, '--json');
      expect(json.code, args.join(' ')).toBe(1);
      expect(json.stderr).toBe('');
      expect(timesPrinted(json, mistake), `${args.join(' ')} --json:\n${json.stdout}`).toBe(1);
      expect(lastJsonOf(json)).toMatchObject({ ok: false, error: { code: 'SKIFF_E_CONFIG', message: expect.stringContaining(mistake) } });
    }
  });

  it('an unknown --target value is SKIFF_E_CONFIG naming the valid targets', async () => {
    for (const command of ['dev', 'push']) {
      const r = await skiff(command, project, '--target', 'nowhere', '--json');
      expect(r.code).toBe(1);
      expect(jsonOf(r)).toEqual({
        ok: false,
        error: { code: 'SKIFF_E_CONFIG', message: '--target must be one of "local", "docker", "kubernetes", got "nowhere"' },
      });
    }
  });

  it('dev --target reaches the daemon as the session target; its refusal is printed once, with its code', async () => {
    // The container targets need skiff.yaml's "image", which this project lacks: the session is refused.
    const human = await skiff('dev', project, '--target', 'docker');
    expect(human.code).toBe(1);
    expect(timesPrinted(human, 'needs "image"')).toBe(1);
    expect(human.stderr).toMatch(/the docker target needs "image".*\[SKIFF_E_CONFIG\]/);

    const json = await skiff('dev', project, '--target', 'kubernetes', '--json');
    expect(json.code).toBe(1);
    expect(timesPrinted(json, 'kubernetes target needs')).toBe(1);
    expect(lastJsonOf(json)).toMatchObject({ ok: false, error: { code: 'SKIFF_E_CONFIG', message: expect.stringContaining('kubernetes target needs "image"') } });

    const listed = jsonOf<{ sessions: Array<{ target: string; state: string; error: { code: string } | null }> }>(await skiff('sessions', '--json'));
    expect(listed.sessions.map((s) => [s.target, s.state, s.error?.code]).sort()).toEqual([
      ['docker', 'failed', 'SKIFF_E_CONFIG'],
      ['kubernetes', 'failed', 'SKIFF_E_CONFIG'],
    ]);
  });

  it("the target is the flag's, else skiff.yaml's, else local", async () => {
    await writeFile(join(project, 'skiff.yaml'), 'target: docker\n');
    const fromYaml = await skiff('dev', project, '--json');
    expect(fromYaml.code).toBe(1);
    expect(lastJsonOf(fromYaml)).toMatchObject({ error: { code: 'SKIFF_E_CONFIG', message: expect.stringContaining('docker target') } });
    const pushFromYaml = await skiff('push', project, '--json');
    expect(pushFromYaml.code).toBe(1);
    expect(lastJsonOf(pushFromYaml)).toMatchObject({ error: { code: 'SKIFF_E_CONFIG', message: expect.stringContaining('docker target') } });

    // The flag wins over skiff.yaml.
    const root = join(work, 'agent-root');
    const t = new DevTerminal([project, '--target', 'local', '--local-root', root], env);
    terminals.push(t);
    await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'initial');
    const status = jsonOf<{ session: { target: string; state: string } }>(await skiff('status', project, '--json'));
    expect(status.session.target).toBe('local');
    const pushed = await skiff('push', project, '--target', 'local', '--json');
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(jsonOf(pushed)).toMatchObject({ ok: true, session: true });

    // Without skiff.yaml's target, local.
    await writeFile(join(project, 'skiff.yaml'), 'name: plain\n');
    const once = await skiff('push', project, '--local-root', join(work, 'other-root'), '--json');
    expect(once.code, once.stderr).toBe(0);
    expect(jsonOf(once)).toMatchObject({ ok: true, uploaded: 2 });
  });
});
