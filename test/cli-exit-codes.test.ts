import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { jsonOf, runSkiff, type CliResult } from './support/run-cli.ts';

/**
 * The `skiff` command's exit statuses and messages as the README promises
 * them: 3 with one line when nothing runs, 2 with skiff's own message and
 * SKIFF_E_USAGE for a command line it cannot read.
 */

/** The non-empty lines a command wrote on both streams. */
function lines(r: CliResult): string[] {
  return `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
}

describe('nothing running: exit 3', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  const terminals: DevTerminal[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-cli-exit-'));
    env = (await privateRuntime()).env;
    await mkdir(join(work, 'idle'));
    await mkdir(join(work, 'busy'));
    await writeFile(join(work, 'busy', 'a.txt'), 'a\n');
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  it('logs and stop without a daemon exit 3 with one line naming SKIFF_E_NO_SESSION, like status', async () => {
    const idle = join(work, 'idle');
    for (const command of ['logs', 'stop']) {
      const r = await runSkiff([command, idle], { env });
      expect(r.code, `${command}: ${r.stderr}`).toBe(3);
      expect(r.stdout).toBe('');
      expect(lines(r)).toEqual([`error no session runs for ${idle} (skiffd is not running); 'skiff dev' starts one [SKIFF_E_NO_SESSION]`]);

      const json = await runSkiff([command, idle, '--json'], { env });
      expect(json.code).toBe(3);
      expect(jsonOf(json)).toMatchObject({ ok: false, error: { code: 'SKIFF_E_NO_SESSION' } });
    }
    expect((await runSkiff(['status', idle], { env })).code).toBe(3);
  });

  it('logs, logs -f and stop exit 3 for a project without a session while the daemon runs another', async () => {
    const busy = new DevTerminal([join(work, 'busy'), '--local-root', join(work, 'busy-root')], env);
    terminals.push(busy);
    await busy.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'initial');
    const idle = join(work, 'idle');
    for (const args of [['logs', idle], ['logs', '-f', idle], ['stop', idle]]) {
      const r = await runSkiff(args, { env, timeoutMs: 15_000 });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(lines(r)).toEqual([`error no session runs for ${idle}; 'skiff dev' starts one [SKIFF_E_NO_SESSION]`]);
    }
    expect((await runSkiff(['status', idle], { env })).code).toBe(3);
    // The other project's session was not touched.
    expect(jsonOf<{ session: { state: string } }>(await runSkiff(['status', join(work, 'busy'), '--json'], { env })).session.state).toBe('watching');
  });
});

describe('usage errors: skiff’s own message, exit 2, SKIFF_E_USAGE', () => {
  const cases: Array<[string, string[], string]> = [
    ['an unknown option', ['dev', '--frobnicate'], "unknown option --frobnicate for 'skiff dev'; see 'skiff dev --help'"],
    ['an unknown short option', ['logs', '-x'], "unknown option -x for 'skiff logs'; see 'skiff logs --help'"],
    ['a missing option value', ['dev', '--local-root'], "option --local-root for 'skiff dev' needs a value (--local-root DIR); see 'skiff dev --help'"],
    ['a missing value before another option', ['push', '--target', '--force'], "option --target for 'skiff push' needs a value (--target TARGET); see 'skiff push --help'"],
    ['a value given to a flag', ['status', '--json=yes'], `option --json for 'skiff status' takes no value, got "--json=yes"; see 'skiff status --help'`],
    ['too many positionals', ['dev', 'a', 'b'], `too many arguments for 'skiff dev' (it takes at most 1): unexpected "b"; see 'skiff dev --help'`],
    ['a positional where none is taken', ['sessions', 'x'], `'skiff sessions' takes no arguments, got "x"; see 'skiff sessions --help'`],
  ];

  it.each(cases)('%s', async (_name, args, message) => {
    const { env } = await privateRuntime();
    const r = await runSkiff(args, { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(lines(r)).toEqual([`error ${message} [SKIFF_E_USAGE]`]);
  });

  it('with --json the usage error is one JSON object on stdout', async () => {
    const { env } = await privateRuntime();
    const r = await runSkiff(['status', '--frobnicate', '--json'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    expect(jsonOf(r)).toEqual({ ok: false, error: { code: 'SKIFF_E_USAGE', message: "unknown option --frobnicate for 'skiff status'; see 'skiff status --help'" } });
  });
});
