import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { generateProject } from './support/gen-tree.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';
import { compareTrees, listTree } from './support/tree-compare.ts';

describe('the daemon and its sessions', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let project: string;
  let agentRoot: string;
  const terminals: DevTerminal[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-daemon-'));
    env = (await privateRuntime()).env;
    project = join(work, 'project');
    agentRoot = join(work, 'agent-root');
    await mkdir(project, { recursive: true });
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  const dev = (extra: string[] = []) => {
    const t = new DevTerminal([project, '--local-root', agentRoot, ...extra], env);
    terminals.push(t);
    return t;
  };
  const initialSynced = (t: DevTerminal) => t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'initial');

  it('two terminals see the same sync events; killing one does not disturb the other', async () => {
    await writeFile(join(project, 'a.txt'), 'a\n');
    const one = dev();
    await initialSynced(one);
    const two = dev();
    await two.waitFor((e) => e.event === 'session.state');

    const marks = [one.events.length, two.events.length];
    await writeFile(join(project, 'b.txt'), 'bee\n');
    const [e1, e2] = await Promise.all([
      one.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'watch', 10_000, marks[0]),
      two.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'watch', 10_000, marks[1]),
    ]);
    expect(e1.data).toEqual(e2.data);
    expect(e1.data).toMatchObject({ uploaded: 1, bytes: 4, inSync: true });

    two.child.kill('SIGKILL');
    const mark = one.events.length;
    await writeFile(join(project, 'c.txt'), 'sea\n');
    const e3 = await one.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'watch', 10_000, mark);
    expect(e3.data).toMatchObject({ uploaded: 1, inSync: true });
    expect(await readFile(join(agentRoot, 'c.txt'), 'utf8')).toBe('sea\n');
    const status = jsonOf<{ session: { clients: number; inSync: boolean } }>(await runSkiff(['status', project, '--json'], { env }));
    expect(status.session).toMatchObject({ inSync: true, clients: 1 });
  });

  it('a burst of 5,000 files becomes one batch and all of them reach the agent', async () => {
    const t = dev();
    await initialSynced(t);
    const mark = t.events.length;
    // Written as a git checkout writes: one process, one file after another, no pause.
    for (let i = 0; i < 5000; i++) {
      if (i % 250 === 0) mkdirSync(join(project, 'storm', `d${i / 250}`), { recursive: true });
      writeFileSync(join(project, 'storm', `d${Math.floor(i / 250)}`, `f${i}.txt`), `file ${i}\n`);
    }
    await t.waitFor(() => t.finished('watch').reduce((n, e) => n + e.data.uploaded, 0) >= 5000, 60_000, mark);
    const batches = t.finished('watch');
    expect(batches.map((e) => e.data.uploaded)).toEqual([5000]);
    const agentFiles = [...(await listTree(join(agentRoot, 'storm'))).values()].filter((d) => d.startsWith('file'));
    expect(agentFiles).toHaveLength(5000);
    expect(await compareTrees(project, agentRoot, (rel) => rel === '.skiff')).toEqual([]);
  });

  it('the first sync into an empty agent sends while the project is scanned, and keeps the scan\'s problems', async () => {
    const tree = await generateProject(project, 6000, 5);
    execFileSync('mkfifo', [join(project, 'src', 'a-pipe')]);
    const t = dev();
    const first = await initialSynced(t);
    const started = t.events.find((e) => e.event === 'sync.started' && e.data.reason === 'initial');
    expect(started?.data).toMatchObject({ scanning: true });
    expect(first.data).toMatchObject({ inSync: true });
    expect(first.data.uploaded).toBeGreaterThanOrEqual(tree.files);
    expect(await compareTrees(project, agentRoot, (rel) => rel === '.skiff' || rel === 'src/a-pipe' || tree.ignored.includes(rel))).toEqual([]);
    const status = jsonOf<{ session: { problemCount: number; problems: Array<{ path: string; code: string }> } }>(await runSkiff(['status', project, '--json'], { env }));
    expect(status.session.problems).toEqual([expect.objectContaining({ path: 'src/a-pipe', code: 'SKIFF_E_UNSUPPORTED_FILE' })]);
    expect(status.session.problemCount).toBe(1);
    // The session's tree is the whole project: an edit goes out alone.
    const mark = t.events.length;
    await writeFile(join(project, 'src', 'after-first-sync.txt'), 'one more\n');
    const watched = await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'watch', 10_000, mark);
    expect(watched.data).toMatchObject({ uploaded: 1, deleted: 0, inSync: true });
  });

  it('a daemon killed with SIGKILL resumes from its index without a full re-send', async () => {
    const tree = await generateProject(project, 2000, 3);
    const t = dev();
    const first = await initialSynced(t);
    expect(first.data.uploaded).toBeGreaterThanOrEqual(tree.files);
    // Give the debounced index save its time, then kill the daemon outright.
    await new Promise((r) => setTimeout(r, 1500));
    const daemon = jsonOf<{ pid: number }>(await runSkiff(['daemon', 'status', '--json'], { env }));
    const before = jsonOf<{ session: { agent: { pid: number } } }>(await runSkiff(['status', project, '--json'], { env }));
    process.kill(daemon.pid, 'SIGKILL');
    await t.waitFor(() => t.exited, 10_000).catch(() => undefined);
    await writeFile(join(project, 'src', 'changed-while-down.txt'), 'edited while the daemon was down\n');
    await writeFile(join(project, 'run.sh'), '#!/bin/sh\necho changed\n');

    const again = dev();
    const resumed = await initialSynced(again);
    expect(resumed.data).toMatchObject({ uploaded: 2, inSync: true });
    expect(resumed.data.bytes).toBeLessThan(1000);
    expect(await compareTrees(project, agentRoot, (rel) => rel === '.skiff' || tree.ignored.includes(rel))).toEqual([]);
    // The killed daemon's agent went with it (its stdin closed): nothing is left behind.
    expect(() => process.kill(daemon.pid, 0)).toThrow();
    expect(() => process.kill(before.session.agent.pid, 0)).toThrow();
  });
});
