import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../src/supervisor/supervisor.ts';
import { alive, Collect, EventRecorder } from './supervisor-recorder.ts';

/** Fails (30 lines of output, then exit 7) while a file named "fail" exists; else records that it ran. */
const ASSEMBLE =
  'if [ -f fail ]; then i=1; while [ $i -le 30 ]; do echo "line $i"; i=$((i+1)); done; echo boom >&2; exit 7; fi; echo x >> assembled; echo assembled ok';
const RUN = 'echo "run pid $$ after $(wc -l < assembled) assembles"; exec sleep 1000';

let dir: string;
let supervisor: Supervisor | undefined;

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function setup(assembleOn?: string[]) {
  dir = await mkdtemp(join(tmpdir(), 'skiff-asm-'));
  supervisor = new Supervisor({
    config: { run: RUN, assemble: ASSEMBLE, assembleOn, workdir: dir },
    stdout: new Collect(),
    stderr: new Collect(),
    timing: { stopGraceMs: 2_000 },
  });
  const rec = new EventRecorder();
  supervisor.subscribe(rec);
  return { sup: supervisor, rec };
}

const assembles = async () => (await readFile(join(dir, 'assembled'), 'utf8')).split('\n').filter(Boolean).length;

describe('Supervisor assemble', () => {
  it('assembles before the first start, then on batches that touch assembleOn only', async () => {
    const { sup, rec } = await setup(['package.json']);
    sup.committed({ batch: 1, paths: [] });
    const first = await rec.nth('running', 1);
    // 'starting' while the launcher has not yet said the command's pid.
    expect(rec.statuses.map((s) => s.state).filter((state) => state !== 'starting').slice(0, 3)).toEqual(['waiting', 'assembling', 'running']);
    expect(await assembles()).toBe(1);
    // Assemble output is published and written through like the app's.
    expect(rec.text('stdout')).toContain('assembled ok');

    sup.committed({ batch: 2, paths: ['src/a.js'] });
    const second = await rec.nth('running', 2);
    expect(second.pid).not.toBe(first.pid);
    expect(await assembles()).toBe(1);

    sup.committed({ batch: 3, paths: ['src/a.js', 'package.json'] });
    await rec.nth('running', 3);
    expect(await assembles()).toBe(2);
    expect(rec.text('system')).toContain('assembling (package.json matches assembleOn)');
  });

  it('a failed assemble keeps the previous app running and reports the exit code and the tail of the output', async () => {
    const { sup, rec } = await setup();
    sup.committed({ batch: 1, paths: [] });
    const running = await rec.nth('running', 1);
    await rec.until('app output', () => rec.text('stdout').includes(`run pid ${running.pid} after 1 assembles`));

    await writeFile(join(dir, 'fail'), '');
    sup.committed({ batch: 2, paths: ['fail'] });
    const failed = await rec.nth('assemble-failed', 1);
    expect(failed.exitCode).toBe(7);
    expect(failed.pid).toBe(running.pid);
    expect(failed.message).toContain('exit code 7');
    expect(failed.message).toContain(`the previous app keeps running (pid ${running.pid})`);
    expect(failed.message).toContain('line 30');
    expect(failed.message).toContain('boom');
    expect(failed.message).toMatch(/line 12\n/);
    expect(failed.message).not.toMatch(/line 11\n/); // only the last 20 lines: 12..30 and "boom"
    expect(alive(running.pid)).toBe(true);
    expect(sup.appPid).toBe(running.pid);
    expect(rec.statuses.filter((s) => s.state === 'stopping')).toHaveLength(0);

    // A batch that does not touch the failing input still re-runs assemble: the fix may be anywhere.
    await unlink(join(dir, 'fail'));
    sup.committed({ batch: 3, paths: ['src/fix.js'] });
    const next = await rec.nth('running', 2);
    expect(next.pid).not.toBe(running.pid);
    expect(alive(running.pid)).toBe(false);
    await rec.until('app output', () => rec.text('stdout').includes(`run pid ${next.pid} after 2 assembles`));
  });

  it('a failed first assemble starts nothing; the next batch retries', async () => {
    const { sup, rec } = await setup(['package.json']);
    await writeFile(join(dir, 'fail'), '');
    sup.committed({ batch: 1, paths: [] });
    const failed = await rec.nth('assemble-failed', 1);
    expect(failed.pid).toBeUndefined();
    expect(failed.message).toContain('no previous app is running');
    expect(sup.appPid).toBeUndefined();

    await unlink(join(dir, 'fail'));
    sup.committed({ batch: 2, paths: ['README.md'] }); // not in assembleOn, but assemble never succeeded
    await rec.nth('running', 1);
    expect(await assembles()).toBe(1);
  });

  it('coalesces batches that arrive while assembling into one more cycle', async () => {
    const { sup, rec } = await setup();
    sup.committed({ batch: 1, paths: ['a'] });
    await rec.nth('assembling', 1);
    sup.committed({ batch: 2, paths: ['b'] });
    sup.committed({ batch: 3, paths: ['c'] });
    await rec.nth('running', 2);
    expect(await assembles()).toBe(2);
    expect(rec.statuses.filter((s) => s.state === 'assembling')).toHaveLength(2);
  });
});
