import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/supervisor/backoff.ts';
import { Supervisor } from '../src/supervisor/supervisor.ts';
import { Collect, EventRecorder } from './supervisor-recorder.ts';

let dir: string;
let supervisor: Supervisor | undefined;

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function setup(run: string, timing: { backoffBaseMs: number; backoffCapMs: number; stableRunMs: number }) {
  dir = await mkdtemp(join(tmpdir(), 'skiff-backoff-'));
  supervisor = new Supervisor({ config: { run, workdir: dir }, stdout: new Collect(), stderr: new Collect(), timing });
  const rec = new EventRecorder();
  supervisor.subscribe(rec);
  supervisor.committed({ batch: 1, paths: [] });
  return { sup: supervisor, rec };
}

describe('Supervisor restart backoff', () => {
  it('a crash-looping app restarts with growing delays up to the cap', async () => {
    const timing = { backoffBaseMs: 40, backoffCapMs: 320, stableRunMs: 10_000 };
    const { rec } = await setup('echo crash; exit 3', timing);
    const starts = 7;
    await rec.nth('running', starts);
    const runs = rec.statuses.filter((s) => s.state === 'running');
    const backoffs = rec.statuses.filter((s) => s.state === 'backoff');
    const exits = rec.statuses.filter((s) => s.state === 'exited');
    expect(runs.map((s) => s.restarts)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(exits[0]).toMatchObject({ exitCode: 3, signal: null });
    expect(exits[0].message).toMatch(/^exit code 3 after \d+ ms$/);
    // The announced delays follow the table: 40, 80, 160, 320, 320, 320.
    const announced = backoffs.slice(0, starts - 1).map((s) => Number(/restarting in (\d+) ms/.exec(s.message ?? '')?.[1]));
    expect(announced).toEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, timing.backoffBaseMs, timing.backoffCapMs)));
    // And the recorded start times honour them: each start comes at least its delay after the backoff began.
    for (let i = 1; i < starts; i++) {
      expect(runs[i].since - backoffs[i - 1].since).toBeGreaterThanOrEqual(announced[i - 1] - 2);
    }
    const intervals = runs.slice(1).map((s, i) => s.since - runs[i].since);
    expect(intervals[3]).toBeGreaterThan(intervals[0]);
    expect(Math.max(...intervals)).toBeLessThan(timing.backoffCapMs + 2_000);
  });

  it('a run that lasted the stable period resets the backoff to the base delay', async () => {
    const timing = { backoffBaseMs: 30, backoffCapMs: 5_000, stableRunMs: 150 };
    const { rec } = await setup('sleep 0.25; exit 1', timing);
    await rec.nth('backoff', 4);
    const announced = rec.statuses.filter((s) => s.state === 'backoff').map((s) => s.message);
    expect(announced.every((m) => m?.startsWith('restarting in 30 ms'))).toBe(true);
  });

  it('a new batch during a backoff starts the app at once and forgets the crash history', async () => {
    const timing = { backoffBaseMs: 60_000, backoffCapMs: 60_000, stableRunMs: 10_000 };
    const { sup, rec } = await setup('echo crash; exit 3', timing);
    const backoff = await rec.nth('backoff', 1);
    expect(backoff.message).toMatch(/restarting in 60000 ms \(exit code 3\)/);
    sup.committed({ batch: 2, paths: ['fix.js'] });
    const second = await rec.nth('running', 2);
    expect(second.since - backoff.since).toBeLessThan(10_000);
  });
});
