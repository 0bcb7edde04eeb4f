import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findLauncher, type LauncherLoad } from '../src/supervisor/launcher.ts';
import { Supervisor } from '../src/supervisor/supervisor.ts';
import { alive, Collect, EventRecorder } from './supervisor-recorder.ts';

/**
 * The grace period of a stop lasts until the app's whole process group is
 * gone, whatever shape the run line has: the app behind `sh -c` gets SIGTERM
 * and all of its grace period, though the shell itself dies at once. Real
 * node apps; the evidence is what they wrote to disk during their cleanup.
 */

const NODE = JSON.stringify(process.execPath);

/** Handles SIGTERM by cleaning up for 1 s, then writes "cleaned" and exits 0. */
const GRACEFUL_APP = `
const { writeFileSync } = require('node:fs');
writeFileSync('app.pid', String(process.pid));
process.on('SIGTERM', () => {
  writeFileSync('term', '');
  setTimeout(() => { writeFileSync('cleaned', ''); process.exit(0); }, 1000);
});
console.log('ready');
setInterval(() => {}, 1 << 30);
`;

/** Ignores SIGTERM: notes it, notes that it is still alive 0.5 s later, and runs on until killed. */
const STUBBORN_APP = `
const { writeFileSync } = require('node:fs');
writeFileSync('app.pid', String(process.pid));
process.on('SIGTERM', () => {
  writeFileSync('term', '');
  setTimeout(() => writeFileSync('survived', ''), 500);
});
console.log('ready');
setInterval(() => {}, 1 << 30);
`;

/** The three shapes a run line takes: a shell that waits for node, one that execs it, one that runs a list. */
const SHAPES: Array<[string, (app: string) => string]> = [
  ['sh -c "node app.js"', (app) => `${NODE} ${app}`],
  ['sh -c "exec node app.js"', (app) => `exec ${NODE} ${app}`],
  ['sh -c "a; b"', (app) => `true; ${NODE} ${app}`],
];

const launcher = findLauncher();
if (!launcher.ok) console.warn(`skiff-launch is not built: testing the plain /bin/sh mode only (${launcher.reason})`);
const MODES: Array<[string, LauncherLoad | null]> = [
  ['plain /bin/sh', { ok: false, reason: 'left out by this test' }],
  ['skiff-launch', launcher.ok ? launcher : null],
];

let dirs: string[] = [];
let supervisors: Supervisor[] = [];

afterEach(async () => {
  await Promise.all(supervisors.map((s) => s.shutdown()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
  supervisors = [];
});

async function setup(run: string, mode: LauncherLoad, stopGraceMs: number, files: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-stop-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const supervisor = new Supervisor({ config: { run, workdir: dir }, stdout: new Collect(), stderr: new Collect(), timing: { stopGraceMs }, launcher: mode });
  supervisors.push(supervisor);
  const rec = new EventRecorder();
  supervisor.subscribe(rec);
  supervisor.committed({ batch: 1, paths: [] });
  await rec.until('the app to be ready', () => rec.text('stdout').includes('ready\n'));
  const appPid = Number(readFileSync(join(dir, 'app.pid'), 'utf8'));
  return { dir, supervisor, rec, appPid };
}

describe.each(MODES)('stopping an app (%s)', (_mode, mode) => {
  describe.skipIf(mode === null).each(SHAPES)('run line %s', (_shape, runLine) => {
    it('an app that handles SIGTERM gets to finish its cleanup, and reports its own exit', async () => {
      const { dir, supervisor, appPid } = await setup(runLine('app.js'), mode!, 10_000, { 'app.js': GRACEFUL_APP });
      const end = await supervisor.shutdown('SIGTERM');
      expect(existsSync(join(dir, 'term'))).toBe(true);
      expect(existsSync(join(dir, 'cleaned'))).toBe(true);
      expect(end?.forced).toBe(false);
      expect(alive(appPid)).toBe(false);
      // The command's own end: node's 0 when the shell exec'd it, else the shell's death by SIGTERM.
      if (runLine('x').startsWith('exec ')) expect(end).toMatchObject({ code: 0, signal: null });
      else expect(end).toMatchObject({ code: null, signal: 'SIGTERM' });
    });

    it('an app that ignores SIGTERM is SIGKILLed, after the grace period', async () => {
      const { dir, supervisor, rec, appPid } = await setup(runLine('app.js'), mode!, 2_000, { 'app.js': STUBBORN_APP });
      const end = await supervisor.shutdown('SIGTERM');
      // It lived on after SIGTERM long enough to say so, and was then killed.
      expect(existsSync(join(dir, 'term'))).toBe(true);
      expect(existsSync(join(dir, 'survived'))).toBe(true);
      expect(end?.forced).toBe(true);
      expect(alive(appPid)).toBe(false);
      expect(rec.text('system')).toMatch(/outlived SIGTERM by 2000 ms: killed/);
    });
  });

  it.skipIf(mode === null)('a restart starts the new app only once the old one finished its cleanup', async () => {
    // The new app reports whether the old one's cleanup marker was there when it started.
    const run = `test -e cleaned && echo "cleaned before start"; ${NODE} app.js`;
    const { supervisor, rec, appPid } = await setup(run, mode!, 10_000, { 'app.js': GRACEFUL_APP });
    supervisor.committed({ batch: 2, paths: ['app.js'] });
    await rec.nth('running', 2);
    await rec.until('the new app to be ready', () => rec.text('stdout').split('ready\n').length === 3);
    expect(rec.text('stdout')).toContain('cleaned before start');
    expect(alive(appPid)).toBe(false);
  });
});
