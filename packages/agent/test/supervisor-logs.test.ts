import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../src/supervisor/supervisor.ts';
import { Collect, EventRecorder } from './supervisor-recorder.ts';

let dir: string;
let supervisor: Supervisor | undefined;

afterEach(async () => {
  await supervisor?.shutdown();
  supervisor = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('Supervisor logs', () => {
  it('writes output through, publishes it to subscribers, and replays a backlog after the current status', async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-logs-'));
    const stdout = new Collect();
    const stderr = new Collect();
    supervisor = new Supervisor({
      config: { run: 'echo "to stdout $GREETING"; echo "to stderr" >&2; echo done; exec sleep 1000', env: { GREETING: 'hi' }, workdir: dir },
      stdout,
      stderr,
    });
    const early = new EventRecorder();
    const unsubscribe = supervisor.subscribe(early);
    supervisor.committed({ batch: 1, paths: [] });
    await early.until('output', () => early.text('stdout').includes('done') && early.text('stderr').includes('to stderr'));
    expect(early.text('stdout')).toContain('to stdout hi');
    expect(early.text('system')).toMatch(/^skiff-agent: started pid \d+/m);
    expect(early.logs.every((l) => typeof l.ts === 'number' && l.ts > 0)).toBe(true);
    expect(stdout.text).toContain('to stdout hi');
    expect(stderr.text).toContain('to stderr');
    expect(stderr.text).toContain('skiff-agent: started pid');
    unsubscribe();

    const late = new EventRecorder();
    const order: string[] = [];
    supervisor.subscribe({
      status: (s) => {
        order.push(`status:${s.state}`);
        late.status(s);
      },
      log: (stream, data, ts) => {
        order.push(`log:${stream}`);
        late.log(stream, data, ts);
      },
    });
    expect(order[0]).toBe('status:running');
    expect(late.statuses).toHaveLength(1);
    expect(late.text('stdout')).toBe(early.text('stdout'));
    expect(late.text('stderr')).toBe(early.text('stderr'));

    // An unsubscribed recorder hears nothing more.
    const before = early.statuses.length;
    supervisor.committed({ batch: 2, paths: ['x'] });
    await late.nth('running', 2);
    expect(early.statuses).toHaveLength(before);
  });

  it('a subscriber that throws does not disturb the others or the app', async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-logs-'));
    supervisor = new Supervisor({ config: { run: 'echo ok; exec sleep 1000', workdir: dir }, stdout: new Collect(), stderr: new Collect() });
    supervisor.subscribe({
      status() {
        throw new Error('broken subscriber');
      },
      log() {
        throw new Error('broken subscriber');
      },
    });
    const rec = new EventRecorder();
    supervisor.subscribe(rec);
    supervisor.committed({ batch: 1, paths: [] });
    await rec.until('ok', () => rec.text('stdout').includes('ok'));
    expect(rec.last?.state).toBe('running');
  });
});
