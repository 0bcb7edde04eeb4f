import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor } from '../src/supervisor/supervisor.ts';
import type { AppConfig } from '../src/supervisor/config.ts';
import { Collect, EventRecorder } from './supervisor-recorder.ts';

/**
 * A storm of batches while the app is being restarted or assembled costs one
 * more restart, not one per batch. The restart and the assemble are held open
 * by the test (a gate file), so the batches provably arrive while they run;
 * starts and assembles are counted by the app and the assemble themselves.
 */

const NODE = JSON.stringify(process.execPath);

/** Counts its starts; on SIGTERM it waits for the file "release" before exiting (a slow cleanup the test ends). */
const GATED_APP = `
const { existsSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const n = (existsSync('starts') ? Number(readFileSync('starts', 'utf8')) : 0) + 1;
writeFileSync('starts', String(n));
process.on('SIGTERM', () => {
  const wait = setInterval(() => {
    if (!existsSync('release')) return;
    rmSync('release');
    clearInterval(wait);
    process.exit(0);
  }, 10);
});
console.log('start ' + n);
setInterval(() => {}, 1 << 30);
`;

/** Counts its runs and holds until the file "release" exists, then consumes it. */
const GATED_ASSEMBLE = 'echo x >> assembled; echo assembling; while [ ! -e release ]; do sleep 0.01; done; rm release';

let dirs: string[] = [];
let supervisors: Supervisor[] = [];

afterEach(async () => {
  // Let a gated app end its cleanup, or the shutdown waits out the grace period.
  await Promise.all(dirs.map((d) => writeFile(join(d, 'release'), '')));
  await Promise.all(supervisors.map((s) => s.shutdown()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
  supervisors = [];
});

async function setup(config: Omit<AppConfig, 'workdir'>) {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-storm-'));
  dirs.push(dir);
  await writeFile(join(dir, 'app.js'), GATED_APP);
  const supervisor = new Supervisor({ config: { ...config, workdir: dir }, stdout: new Collect(), stderr: new Collect(), timing: { stopGraceMs: 20_000 } });
  supervisors.push(supervisor);
  const rec = new EventRecorder();
  supervisor.subscribe(rec);
  const count = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file), 'utf8') : '');
  return {
    dir,
    supervisor,
    rec,
    starts: () => Number(count('starts') || 0),
    assembles: () => count('assembled').split('\n').filter(Boolean).length,
    release: () => writeFile(join(dir, 'release'), ''),
  };
}

/** Each batch in a turn of its own, as batches from the wire come. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Proves the supervisor went idle with nothing left over: a batch that only
 * touches hot-reloaded paths says "no restart" only if no restart is pending
 * (it would fold into one) and none ran before it.
 */
async function settle(supervisor: Supervisor, rec: EventRecorder, batch: number): Promise<void> {
  const before = rec.text('system').split('no restart: hot reload').length;
  supervisor.committed({ batch, paths: ['public/probe.css'] });
  await rec.until('the hot-reload probe', () => rec.text('system').split('no restart: hot reload').length > before);
}

describe('a storm of batches', () => {
  it('during a restart: one more restart for all of them', async () => {
    const { supervisor, rec, release } = await setup({ run: `${NODE} app.js`, hotReload: ['public/'] });
    supervisor.committed({ batch: 1, paths: [] });
    await rec.until('start 1', () => rec.text('stdout').includes('start 1\n'));

    supervisor.committed({ batch: 2, paths: ['a.js'] });
    await rec.nth('stopping', 1);
    // The old app is now in its cleanup, held by the gate: the restart is under way.
    for (const [batch, path] of [[3, 'b.js'], [4, 'c.js'], [5, 'd.js']] as const) {
      await nextTurn();
      supervisor.committed({ batch, paths: [path] });
    }
    await release();
    // Batch 2's restart ends with the second start; the folded one follows at
    // once (the second app may be stopped while node still boots, before its
    // SIGTERM handler exists: then the release below is left over, harmlessly).
    await rec.nth('stopping', 2);
    await release();
    await rec.nth('starting', 3);
    await rec.until('the third app to run', () => supervisor.status.state === 'running' && supervisor.status);
    await settle(supervisor, rec, 6);

    const restartLines = rec.text('system').match(/restarting \([^)]*\)/g);
    expect(restartLines).toEqual(['restarting (the app is not running)', 'restarting (a.js changed)', 'restarting (3 paths changed)']);
    expect(rec.statuses.filter((s) => s.state === 'starting')).toHaveLength(3);
    expect(supervisor.status).toMatchObject({ state: 'running', restarts: 2 });
  });

  it('a spec change during a restart joins the fold: one more restart, with the new spec', async () => {
    const { supervisor, rec, release } = await setup({ run: `${NODE} app.js`, hotReload: ['public/'] });
    supervisor.committed({ batch: 1, paths: [] });
    await rec.until('start 1', () => rec.text('stdout').includes('start 1\n'));
    supervisor.committed({ batch: 2, paths: ['a.js'] });
    await rec.nth('stopping', 1);
    await nextTurn();
    supervisor.applySpec({ run: `echo "new spec"; exec ${NODE} app.js`, hotReload: ['public/'] });
    await nextTurn();
    supervisor.committed({ batch: 3, paths: ['b.js'] });
    await release();
    await rec.nth('stopping', 2);
    await release();
    await rec.until('the app of the new spec', () => rec.text('stdout').includes('new spec\n'));
    await rec.until('it to run', () => supervisor.status.state === 'running' && supervisor.status);
    await settle(supervisor, rec, 4);

    expect(rec.text('stdout').match(/new spec/g)).toHaveLength(1);
    expect(rec.statuses.filter((s) => s.state === 'starting')).toHaveLength(3);
    expect(rec.text('system')).toContain('restarting (the app spec changed)');
    expect(supervisor.status.message).toBe(`echo "new spec"; exec ${NODE} app.js`);
  });

  it('during an assemble: one more cycle, which assembles because one of the folded batches needs it', async () => {
    const { supervisor, rec, starts, assembles, release } = await setup({
      run: `${NODE} app.js`,
      assemble: GATED_ASSEMBLE,
      assembleOn: ['package.json'],
      hotReload: ['public/'],
    });
    supervisor.committed({ batch: 1, paths: [] });
    await rec.nth('assembling', 1);
    for (const [batch, path] of [[2, 'src/a.js'], [3, 'package.json'], [4, 'src/b.js']] as const) {
      await nextTurn();
      supervisor.committed({ batch, paths: [path] });
    }
    await release();
    await rec.until('start 1', () => rec.text('stdout').includes('start 1\n'));
    // The folded cycle assembles again (held by the gate), then restarts once.
    await rec.nth('assembling', 2);
    await release();
    await rec.nth('stopping', 1);
    await release();
    await rec.until('start 2', () => rec.text('stdout').includes('start 2\n'));
    await settle(supervisor, rec, 5);

    expect(assembles()).toBe(2);
    expect(starts()).toBe(2);
    expect(rec.text('system').match(/assembling \(package\.json matches assembleOn\)/g)).toHaveLength(1);
    expect(rec.statuses.filter((s) => s.state === 'running')).toHaveLength(2);
  });
});
