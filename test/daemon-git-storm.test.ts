import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon, type DevEvent } from './support/dev-session.ts';
import { compareTrees } from './support/tree-compare.ts';

/**
 * A real `git checkout` of thousands of paths (edits, new directories,
 * deletions) during a session is one batch and one restart of the app: the
 * app never starts on a half-checked-out tree. A save right after still goes
 * out on its own.
 *
 * A few files pass through a smudge filter that takes a while, as Git LFS
 * does when it fetches content: git then pauses in the middle of the
 * checkout for longer than any quiet window, while it holds the index lock.
 */
const SLOW_FILTER = 'sleep 0.6; cat';
const DIRS = 30;
const PER_DIR = 100;
/** Directories d10..d29 with d % 7 === 0 get a file through the slow filter: d14, d21, d28. */
const SLOW_FILES = 3;

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=skiff', '-c', 'user.email=skiff@example.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd, stdio: 'ignore' });
}

describe('a git checkout during a session', () => {
  let work: string;
  let project: string;
  let agentRoot: string;
  let starts: string;
  let env: NodeJS.ProcessEnv;
  let terminal: DevTerminal | null = null;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-git-'));
    project = join(work, 'project');
    agentRoot = join(work, 'agent-root');
    starts = join(work, 'starts.log');
    env = (await privateRuntime()).env;
    await mkdir(project);
    git(project, 'init', '-q');
    git(project, 'config', 'filter.slow.smudge', SLOW_FILTER);
    git(project, 'config', 'filter.slow.clean', 'cat');
    await writeFile(join(project, '.gitignore'), '.skiff/\n');
    await writeFile(join(project, '.gitattributes'), '*.slow filter=slow\n');
    await writeFile(join(project, 'skiff.yaml'), `run: echo started >> ${starts}; exec sleep 600\n`);
    for (let d = 0; d < DIRS; d++) {
      await mkdir(join(project, `d${d}`));
      for (let i = 0; i < PER_DIR; i++) await writeFile(join(project, `d${d}`, `f${i}.txt`), `main ${d}/${i}\n`);
    }
    git(project, 'add', '-A');
    git(project, 'commit', '-qm', 'main');
    git(project, 'checkout', '-qb', 'other');
    // Every file edited, ten directories gone, ten new ones.
    for (let d = 0; d < DIRS; d++) {
      if (d < 10) {
        await rm(join(project, `d${d}`), { recursive: true });
        continue;
      }
      for (let i = 0; i < PER_DIR; i++) await writeFile(join(project, `d${d}`, `f${i}.txt`), `other ${d}/${i}\n`);
      if (d % 7 === 0) await writeFile(join(project, `d${d}`, 'lfs.slow'), `large content ${d}\n`);
    }
    for (let d = 0; d < 10; d++) {
      await mkdir(join(project, `n${d}`, 'deep'), { recursive: true });
      for (let i = 0; i < PER_DIR; i++) await writeFile(join(project, `n${d}`, 'deep', `g${i}.txt`), `new ${d}/${i}\n`);
    }
    git(project, 'add', '-A');
    git(project, 'commit', '-qm', 'other');
    git(project, 'checkout', '-q', 'main');
  });
  afterEach(async () => {
    await terminal?.detach();
    terminal = null;
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  const startCount = async () => (await readFile(starts, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  const running = (e: DevEvent) => e.event === 'app.status' && e.data.state === 'running';

  it('is one batch and one restart, and a save after it is its own batch', async () => {
    const t = (terminal = new DevTerminal([project, '--local-root', agentRoot], env));
    await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'initial');
    await t.waitFor(running);
    await expect.poll(startCount, { timeout: 10_000 }).toBe(1);

    const mark = t.events.length;
    git(project, 'checkout', '-q', 'other');
    const checkout = await t.waitFor((e) => e.event === 'sync.finished', 60_000, mark);
    await t.waitFor((e) => running(e) && t.events.indexOf(e) > t.events.indexOf(checkout), 30_000, mark);
    // A save after the checkout: a batch of its own proves no straggler of the checkout was left.
    await writeFile(join(project, 'sentinel.txt'), 'after the checkout\n');
    const save = await t.waitFor((e) => e.event === 'sync.finished' && e !== checkout, 30_000, mark);
    const batches = t.events.slice(mark).filter((e) => e.event === 'sync.finished');
    expect(batches.map((e) => e.data.uploaded + (e.data.copied ?? 0))).toEqual([20 * PER_DIR + 10 * PER_DIR + SLOW_FILES, 1]);
    expect(checkout.data).toMatchObject({ reason: 'watch', deleted: 10, inSync: true });
    expect(save.data).toMatchObject({ reason: 'watch', inSync: true });
    await t.waitFor((e) => running(e) && t.events.indexOf(e) > t.events.indexOf(save), 30_000, mark);
    // The initial start, one for the checkout, one for the save.
    // Polled: the app reports running as soon as it is spawned, a moment before its start line is written.
    await expect.poll(startCount, { timeout: 10_000 }).toBe(3);
    expect(await compareTrees(project, agentRoot, (rel) => rel === '.skiff' || rel === '.git')).toEqual([]);
  });
});
