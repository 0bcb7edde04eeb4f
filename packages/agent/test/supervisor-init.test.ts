import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shutdownExitCode } from '../src/init/exit-code.ts';
import { parseProcStat, type ProcStat } from '../src/init/proc-stat.ts';
import { selectReapable, startReaping } from '../src/init/reaper.ts';
import { listZombieChildren } from '../src/init/zombies.ts';
import { addonCandidates, loadReaperAddon } from '../src/init/addon.ts';

const stat = (pid: number, comm: string, state: string, ppid: number, start = '100') =>
  `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 ${start} 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;

describe('parseProcStat', () => {
  it.each([
    [stat(42, 'sleep', 'Z', 1, '777'), { pid: 42, comm: 'sleep', state: 'Z', ppid: 1, pgrp: 42, startTime: '777' }],
    [stat(7, 'a b', 'S', 3), { pid: 7, comm: 'a b', state: 'S', ppid: 3, pgrp: 7, startTime: '100' }],
    [stat(8, 'x) Z 1 (', 'R', 5), { pid: 8, comm: 'x) Z 1 (', state: 'R', ppid: 5, pgrp: 8, startTime: '100' }],
  ])('%j', (text, expected) => {
    expect(parseProcStat(text)).toEqual(expected);
  });
  it.each(['', 'garbage', '12 (short) Z', '0 (x) Z 1 1 1'])('rejects %j', (text) => {
    expect(parseProcStat(text)).toBeNull();
  });
  it('parses this process', async () => {
    const { readFileSync } = await import('node:fs');
    const me = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(me?.pid).toBe(process.pid);
    expect(me?.ppid).toBe(process.ppid);
  });
});

describe('selectReapable', () => {
  const z = (pid: number, startTime = '1'): ProcStat => ({ pid, comm: 'c', state: 'Z', ppid: 1, pgrp: pid, startTime });
  const own = (pids: number[]) => (pid: number) => pids.includes(pid);
  it.each([
    ['first sighting: watch, do not reap', [z(10)], [], [], [], ['10:1']],
    ['second sighting: reap', [z(10)], [], ['10:1'], [10], []],
    ["Node's own child: never", [z(10)], [10], ['10:1'], [], []],
    ['pid reused by another process: a first sighting again', [z(10, '2')], [], ['10:1'], [], ['10:2']],
    ['mixed', [z(10), z(11), z(12)], [12], ['10:1'], [10], ['11:1']],
    ['gone zombies are forgotten', [], [], ['10:1'], [], []],
  ] as Array<[string, ProcStat[], number[], string[], number[], string[]]>)('%s', (_n, zombies, owned, seen, reaped, watched) => {
    const out = selectReapable(zombies, own(owned), new Set(seen));
    expect(out.reap.map((p) => p.pid)).toEqual(reaped);
    expect([...out.seen]).toEqual(watched);
  });
});

describe('listZombieChildren', () => {
  it('finds zombie children of the given pid in a proc tree', async () => {
    const root = await mkdtemp(join(tmpdir(), 'skiff-proc-'));
    try {
      const procs: Array<[number, string]> = [
        [10, stat(10, 'sh', 'Z', 1)],
        [11, stat(11, 'node', 'S', 1)],
        [12, stat(12, 'sleep', 'Z', 5)],
        [13, stat(13, 'x) Z 1 (', 'Z', 1)],
      ];
      for (const [pid, text] of procs) {
        await mkdir(join(root, String(pid)));
        await writeFile(join(root, String(pid), 'stat'), text);
      }
      await mkdir(join(root, 'self'));
      await mkdir(join(root, '99')); // exited between readdir and read: no stat file
      expect(listZombieChildren(1, root).map((p) => p.pid).sort()).toEqual([10, 13]);
      expect(listZombieChildren(1, join(root, 'missing'))).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('shutdownExitCode', () => {
  it.each([
    ['no app: 128 + SIGTERM', 'SIGTERM', null, 143],
    ['no app: 128 + SIGINT', 'SIGINT', null, 130],
    ['the app exited 0 on SIGTERM', 'SIGTERM', { code: 0, signal: null }, 0],
    ['the app exited 3', 'SIGTERM', { code: 3, signal: null }, 3],
    ['the app died of SIGTERM', 'SIGTERM', { code: null, signal: 'SIGTERM' }, 143],
    ['the app was killed after the grace period', 'SIGTERM', { code: null, signal: 'SIGKILL' }, 137],
    ['the app could not be stopped', 'SIGINT', { code: null, signal: null, lost: true }, 137],
  ] as const)('%s', (_n, received, end, code) => {
    expect(shutdownExitCode(received, end)).toBe(code);
  });
});

describe('addon loading', () => {
  it('looks at the explicit variable first', () => {
    expect(addonCandidates({ SKIFF_AGENT_REAPER_ADDON: '/x/reaper.node' })[0]).toBe('/x/reaper.node');
  });
  it('reports a missing addon instead of throwing', () => {
    const load = loadReaperAddon({ SKIFF_AGENT_REAPER_ADDON: '/nonexistent/reaper.node' });
    // The built addon may exist in the checkout; then it is found at its build path.
    if (load.ok) expect(load.path).toMatch(/native\/build\/Release\/reaper\.node$/);
    else expect(load.reason).toMatch(/not found/);
  });
});

describe('startReaping', () => {
  it('is off outside PID 1 unless SKIFF_AGENT_REAP=1', () => {
    const log: string[] = [];
    const handle = startReaping({ log: (m) => log.push(m), env: {}, pid: 4242, load: () => { throw new Error('must not load'); } });
    expect(handle.reaper).toBeNull();
    expect(log).toEqual([]);
  });
  it('without the addon: one clear warning, no reaper, no throw', () => {
    const log: string[] = [];
    const handle = startReaping({ log: (m) => log.push(m), env: {}, pid: 1, load: () => ({ ok: false, reason: 'reaper.node not found (looked in /x)' }) });
    expect(handle.reaper).toBeNull();
    expect(log).toEqual(['warning: orphaned processes will not be reaped: reaper.node not found (looked in /x)']);
    handle.stop();
  });
});
