import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLinkLine } from '../src/supervisor/launch-link.ts';
import { LAUNCHER_VAR, LAUNCHER_VERSION, findLauncher, launcherCandidates } from '../src/supervisor/launcher.ts';
import { foldBatch, foldSpecChange } from '../src/supervisor/pending.ts';
import { spawnGroup } from '../src/supervisor/process-group.ts';

describe('parseLinkLine', () => {
  it.each([
    ['pid 4242', { kind: 'pid', pid: 4242 }],
    ['exit 0', { kind: 'end', info: { code: 0, signal: null } }],
    ['exit 143', { kind: 'end', info: { code: 143, signal: null } }],
    ['signal 15', { kind: 'end', info: { code: null, signal: 'SIGTERM' } }],
    ['signal 9', { kind: 'end', info: { code: null, signal: 'SIGKILL' } }],
    ['signal 64', { kind: 'end', info: { code: 192, signal: null } }],
  ])('%j', (line, parsed) => {
    expect(parseLinkLine(line)).toEqual(parsed);
  });
  it.each(['', 'pid', 'pid 0', 'pid -1', 'exit 256', 'signal 0', 'signal 128', 'exit 1 2', 'EXIT 1', ' exit 1', 'pid 12345678901'])('rejects %j', (line) => {
    expect(parseLinkLine(line)).toBeNull();
  });
});

describe('finding skiff-launch', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const script = (name: string, body: string): string => {
    dir ??= mkdtempSync(join(tmpdir(), 'skiff-launcher-'));
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };

  it('looks next to the running file, then in the build output; an explicit path is the only place', () => {
    expect(launcherCandidates({}, 'file:///opt/skiff/dist/skiff-agent.js')).toEqual([
      '/opt/skiff/dist/skiff-launch',
      '/opt/skiff/native/build/Release/skiff-launch',
      '/opt/native/build/Release/skiff-launch',
    ]);
    expect(launcherCandidates({ [LAUNCHER_VAR]: '/x/launch' }, 'file:///opt/skiff/dist/skiff-agent.js')).toEqual(['/x/launch']);
  });

  it('takes a candidate that answers the version this agent speaks', () => {
    const path = script('ok', `echo '${LAUNCHER_VERSION}'`);
    expect(findLauncher({ [LAUNCHER_VAR]: path })).toEqual({ ok: true, path });
  });

  it.each([
    ['another link contract', `echo 'skiff-launch 999'`, /answered "skiff-launch 999", expected "skiff-launch 1"/],
    ['a binary that fails (another C library)', 'exit 127', /exited with 127/],
  ])('refuses %s, saying why', (_name, body, why) => {
    const path = script('bad', body);
    const found = findLauncher({ [LAUNCHER_VAR]: path });
    expect(found.ok).toBe(false);
    expect(!found.ok && found.reason).toMatch(why);
  });

  it('says where it looked when there is none', () => {
    const found = findLauncher({ [LAUNCHER_VAR]: '/nonexistent/skiff-launch' });
    expect(found).toEqual({ ok: false, reason: expect.stringContaining('not found (looked in /nonexistent/skiff-launch;') });
  });
});

describe('skiff-launch and its link', () => {
  const launcher = findLauncher();
  it.skipIf(!launcher.ok)('reports the command\'s pid and its end exactly; the launcher stays until its group is killed', async () => {
    let out = '';
    const proc = spawnGroup('echo "sh $$"; exit 7', {
      cwd: tmpdir(),
      env: process.env,
      launcher: launcher.ok ? launcher.path : undefined,
      onStdout: (chunk) => (out += chunk.toString()),
      onStderr: () => undefined,
    });
    expect(proc.launched).toBe(true);
    const pid = await proc.commandPid;
    expect(pid).not.toBe(proc.pid);
    expect(await proc.exited).toEqual({ code: 7, signal: null });
    await proc.closed;
    expect(out).toBe(`sh ${pid}\n`);
    // The launcher itself is still there, holding the tie, until the group goes.
    expect(() => process.kill(proc.pid!, 0)).not.toThrow();
    const launcherEnd = new Promise((resolve) => proc.child.once('exit', (code, signal) => resolve({ code, signal })));
    process.kill(-proc.pid!, 'SIGKILL');
    expect(await launcherEnd).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it.skipIf(!launcher.ok)('the command\'s pid is known before any of its output is delivered', async () => {
    // Node may read the output pipe before the link; the output is held until the pid is out.
    for (let i = 0; i < 30; i++) {
      const events: string[] = [];
      const proc = spawnGroup('echo ok', {
        cwd: tmpdir(),
        env: process.env,
        launcher: launcher.ok ? launcher.path : undefined,
        onStdout: () => events.push('output'),
        onStderr: () => undefined,
      });
      void proc.commandPid.then(() => events.push('pid'));
      await proc.exited;
      await proc.closed;
      process.kill(-proc.pid!, 'SIGKILL');
      expect(events).toEqual(['pid', 'output']);
    }
  });

  it.skipIf(!launcher.ok)('a command killed by a signal is reported as that signal', async () => {
    const proc = spawnGroup('kill -USR2 $$', { cwd: tmpdir(), env: process.env, launcher: launcher.ok ? launcher.path : undefined, onStdout: () => undefined, onStderr: () => undefined });
    expect(await proc.exited).toEqual({ code: null, signal: 'SIGUSR2' });
    process.kill(-proc.pid!, 'SIGKILL');
  });
});

describe('pending work', () => {
  it('folds batches and spec changes into one', () => {
    let work = foldBatch(null, ['a', 'b']);
    work = foldSpecChange(work, false);
    work = foldBatch(work, ['b', 'c']);
    work = foldSpecChange(work, true);
    work = foldSpecChange(work, false);
    expect({ ...work, paths: [...work.paths] }).toEqual({ paths: ['a', 'b', 'c'], batches: 2, specChanged: true, assembleChanged: true });
    expect(foldSpecChange(null, false)).toMatchObject({ batches: 0, specChanged: true, assembleChanged: false });
  });
});
