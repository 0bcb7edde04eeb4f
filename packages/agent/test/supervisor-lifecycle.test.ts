import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../src/supervisor/supervisor.ts';
import type { AppConfig } from '../src/supervisor/config.ts';
import { alive, Collect, EventRecorder } from './supervisor-recorder.ts';

/**
 * An app that counts its starts in a file, says so with its pid, and runs
 * until stopped. (An app stopped right after its start may not get to count.)
 */
const COUNTING_APP = 'n=$(cat starts 2>/dev/null || echo 0); n=$((n+1)); echo $n > starts; echo "start $n pid $$"; exec sleep 1000';
const started = (rec: EventRecorder, pid: number | undefined) => rec.until(`pid ${pid} printed`, () => rec.text('stdout').includes(` pid ${pid}\n`));

let dirs: string[] = [];
let supervisors: Supervisor[] = [];

async function setup(config: Omit<AppConfig, 'workdir'>, timing = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-sup-'));
  dirs.push(dir);
  const stdout = new Collect();
  const stderr = new Collect();
  const supervisor = new Supervisor({ config: { ...config, workdir: dir }, stdout, stderr, timing: { stopGraceMs: 2_000, ...timing } });
  supervisors.push(supervisor);
  const rec = new EventRecorder();
  supervisor.subscribe(rec);
  return { dir, supervisor, rec, stdout, stderr };
}

afterEach(async () => {
  await Promise.all(supervisors.map((s) => s.shutdown()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
  supervisors = [];
});

describe('Supervisor lifecycle', () => {
  it('does not start the app before the first committed batch; a verify-only commit starts it', async () => {
    const { dir, supervisor, rec } = await setup({ run: COUNTING_APP });
    await new Promise((r) => setImmediate(r));
    expect(rec.statuses.map((s) => s.state)).toEqual(['waiting']);
    expect(supervisor.appPid).toBeUndefined();
    await expect(readFile(join(dir, 'starts'), 'utf8')).rejects.toThrow();

    supervisor.committed({ batch: 0, paths: [] });
    const running = await rec.nth('running', 1);
    expect(running.pid).toBeGreaterThan(1);
    expect(running.restarts).toBe(0);
    await started(rec, running.pid);
    expect(rec.text('stdout')).toContain('start 1 ');
  });

  it('restarts once per batch, and once for batches handed over in the same turn', async () => {
    const { supervisor, rec, stdout } = await setup({ run: COUNTING_APP });
    supervisor.committed({ batch: 1, paths: ['a.js'] });
    const first = await rec.nth('running', 1);
    await started(rec, first.pid);
    expect(rec.text('stdout')).toContain('start 1 ');

    supervisor.committed({ batch: 2, paths: ['a.js'] });
    const second = await rec.nth('running', 2);
    expect(second.pid).not.toBe(first.pid);
    expect(second.restarts).toBe(1);
    expect(alive(first.pid)).toBe(false);
    await started(rec, second.pid);
    expect(rec.text('stdout')).toContain('start 2 ');

    // Three batches handed over in the same turn fold into one restart.
    supervisor.committed({ batch: 3, paths: ['a.js'] });
    supervisor.committed({ batch: 4, paths: ['b.js'] });
    supervisor.committed({ batch: 5, paths: ['c.js'] });
    const last = await rec.nth('running', 3);
    await started(rec, last.pid);
    expect(last.restarts).toBe(2);
    expect(rec.text('system')).toContain('restarting (3 paths changed)');
    expect(rec.text('stdout')).toContain('start 3 ');
    expect(rec.statuses.filter((s) => s.state === 'running')).toHaveLength(3);
    expect(rec.statuses.filter((s) => s.state === 'stopping')).toHaveLength(2);
    expect(alive(last.pid)).toBe(true);
    expect(supervisor.appPid).toBe(last.pid);
    // Output is also written through to the agent's own stdout.
    expect(stdout.text).toContain(` pid ${last.pid}\n`);
  });

  it('skips the restart when every path is hot-reloaded', async () => {
    const { supervisor, rec } = await setup({ run: COUNTING_APP, hotReload: ['*.css', 'public/'] });
    supervisor.committed({ batch: 1, paths: [] });
    const running = await rec.nth('running', 1);
    supervisor.committed({ batch: 2, paths: ['public/a.png', 'x/y.css'] });
    await rec.until('no-restart line', () => rec.text('system').includes('no restart: hot reload'));
    expect(supervisor.appPid).toBe(running.pid);
    supervisor.committed({ batch: 3, paths: ['x/y.css', 'server.js'] });
    const again = await rec.nth('running', 2);
    expect(again.pid).not.toBe(running.pid);
  });

  it('stops the whole process group: a background child of the app goes too', async () => {
    const { dir, supervisor, rec } = await setup({ run: 'sleep 1000 & echo $! > bg.pid; echo bg started; exec sleep 1000' });
    supervisor.committed({ batch: 1, paths: [] });
    await rec.until('bg started', () => rec.text('stdout').includes('bg started'));
    const bg = Number(await readFile(join(dir, 'bg.pid'), 'utf8'));
    expect(alive(bg)).toBe(true);
    supervisor.committed({ batch: 2, paths: ['x'] });
    // The stop waits until no member of the old group runs, before the new start.
    await rec.nth('running', 2);
    expect(alive(bg)).toBe(false);
  });

  it('shutdown: an app that exits on SIGTERM reports its own exit code', async () => {
    const { supervisor, rec } = await setup({ run: "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done" });
    supervisor.committed({ batch: 1, paths: [] });
    await rec.until('ready', () => rec.text('stdout').includes('ready'));
    const end = await supervisor.shutdown('SIGTERM');
    expect(end).toMatchObject({ code: 0, signal: null, forced: false });
    expect(rec.last?.state).toBe('exited');
  });

  it('shutdown: an app that ignores SIGTERM is killed after the grace period', async () => {
    const { supervisor, rec } = await setup({ run: "trap '' TERM; echo ready; while :; do sleep 0.05; done" }, { stopGraceMs: 300 });
    supervisor.committed({ batch: 1, paths: [] });
    await rec.until('ready', () => rec.text('stdout').includes('ready'));
    const end = await supervisor.shutdown('SIGTERM');
    expect(end).toMatchObject({ code: null, signal: 'SIGKILL', forced: true });
    expect(rec.text('system')).toContain('outlived SIGTERM by 300 ms: killed');
    // Nothing starts after a shutdown.
    supervisor.committed({ batch: 2, paths: ['x'] });
    await new Promise((r) => setImmediate(r));
    expect(supervisor.appPid).toBeUndefined();
  });

  it('no run command and no .s2i/bin/run: no-command, nothing started', async () => {
    const { supervisor, rec } = await setup({});
    supervisor.committed({ batch: 1, paths: [] });
    const status = await rec.nth('no-command', 1);
    expect(status.message).toMatch(/no run command/);
    expect(supervisor.appPid).toBeUndefined();
  });

  it('falls back to .s2i/bin/assemble and .s2i/bin/run found after the first sync', async () => {
    const { dir, supervisor, rec } = await setup({});
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, '.s2i', 'bin'), { recursive: true });
    await writeFile(join(dir, '.s2i/bin/assemble'), '#!/bin/sh\necho assembled > assembled\n', { mode: 0o755 });
    await writeFile(join(dir, '.s2i/bin/run'), '#!/bin/sh\necho "s2i run $(cat assembled)"\nexec sleep 1000\n', { mode: 0o755 });
    supervisor.committed({ batch: 1, paths: ['.s2i/bin/run', '.s2i/bin/assemble'] });
    await rec.nth('running', 1);
    await rec.until('s2i output', () => rec.text('stdout').includes('s2i run assembled'));
    expect(rec.statuses.map((s) => s.state)).toContain('assembling');
  });

  it('an app that cannot be spawned is reported, not thrown', async () => {
    const { supervisor, rec } = await setup({ run: 'true' });
    await rm(dirs[dirs.length - 1], { recursive: true, force: true });
    supervisor.committed({ batch: 1, paths: [] });
    const backoff = await rec.nth('backoff', 1);
    expect(backoff.message).toMatch(/could not start|exit code/);
  });
});

