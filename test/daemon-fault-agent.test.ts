import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEMP_PREFIX } from '@skiff/agent';
import { DevTerminal, privateRuntime, stopDaemon, type DevEvent } from './support/dev-session.ts';
import { convergedAfter, daemonPid, initialSync, sessionStatus } from './support/fault-daemon.ts';
import { isAlive, waitGone } from './support/fault-process.ts';
import { faultSeed, prng } from './support/fault-seed.ts';
import { tempFilesUnder } from './support/fault-versions.ts';
import { generateProject, type GeneratedTree } from './support/gen-tree.ts';
import { compareTrees } from './support/tree-compare.ts';

/**
 * The local agent SIGKILLed under a running `skiff dev` session: the session
 * must say the agent is disconnected, start a new agent on the same root,
 * reconnect, verify what that root holds (sending only the difference, not
 * the tree again) and converge, with the edits made while no agent ran. An
 * agent killed in the middle of a large file leaves a temporary file that the
 * next agent sweeps, and the daemon itself lives on.
 */
const seed = faultSeed();
const PROJECT_FILES = 1000;
/** Large enough that its transfer takes a while: the kill lands inside it. */
const HUGE_FILE_BYTES = 64 * 1024 * 1024;
const EVENT_WAIT_MS = 20_000;
/** A wide tree for the scan to walk while a first sync already streams: 20,000 tiny files. */
const WIDE_DIRS = 100;
const WIDE_FILES_PER_DIR = 200;
/** How often the agent's root is looked at for a temporary file (there is no event for it). */
const TEMP_POLL_MS = 2;

/** The pid of the local agent started on `root`, once it runs. */
async function agentPidOn(root: string): Promise<number> {
  const deadline = Date.now() + EVENT_WAIT_MS;
  for (;;) {
    const found = spawnSync('pgrep', ['-f', '--', `--root ${root} `], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
    if (found.length === 1) return found[0];
    if (Date.now() > deadline) throw new Error(`no single agent on ${root} within ${EVENT_WAIT_MS} ms (found ${found.join(', ') || 'none'})`);
    await sleep(TEMP_POLL_MS);
  }
}

/** Resolves with the name of the first temporary file of the agent in `dir`. */
async function tempAppears(dir: string): Promise<string> {
  const deadline = Date.now() + EVENT_WAIT_MS;
  for (;;) {
    const found = (await readdir(dir)).find((name) => name.startsWith(TEMP_PREFIX));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no temporary file appeared in ${dir} within ${EVENT_WAIT_MS} ms`);
    await sleep(TEMP_POLL_MS);
  }
}

describe(`the local agent SIGKILLed under a session (seed ${seed}; replay with SKIFF_FAULT_SEED=${seed})`, () => {
  const rand = prng(seed);
  let work: string;
  let env: NodeJS.ProcessEnv;
  let project: string;
  let agentRoot: string;
  let tree: GeneratedTree;
  const terminals: DevTerminal[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-fault-agent-'));
    env = (await privateRuntime()).env;
    project = join(work, 'project');
    agentRoot = join(work, 'agent-root');
    tree = await generateProject(project, PROJECT_FILES, seed);
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  const skip = (rel: string) => rel === '.skiff' || tree.ignored.includes(rel);
  const differences = () => compareTrees(project, agentRoot, skip);
  const agentStates = (t: DevTerminal, from: number) => t.events.slice(from).filter((e) => e.event === 'agent.state').map((e) => e.data.state);
  const bytesOf = (events: DevEvent[]) => events.reduce((n, e) => n + e.data.bytes, 0);

  async function startSession(): Promise<{ t: DevTerminal; daemon: number; agent: number }> {
    const t = new DevTerminal([project, '--local-root', agentRoot], env);
    terminals.push(t);
    const first = await initialSync(t);
    expect(first.data.inSync).toBe(true);
    const daemon = (await daemonPid(env))!;
    const agent = (await sessionStatus(project, env)).agent.pid!;
    expect(agent).toBeGreaterThan(0);
    return { t, daemon, agent };
  }

  it('the session reports the agent disconnected, starts a new one, verifies, and converges with the edits made meanwhile', async () => {
    const { t, daemon, agent } = await startSession();
    const mark = t.events.length;
    process.kill(agent, 'SIGKILL');
    await t.waitFor((e) => e.event === 'agent.state' && e.data.state === 'disconnected', EVENT_WAIT_MS, mark);
    // Edits while no agent runs: a rewrite, a new file in a new directory, a delete.
    const edited = 'src/sub1/edited while down.txt';
    const created = 'made while down/new.txt';
    const edits = [randomBytes(rand.int(1, 5000)), randomBytes(rand.int(1, 5000))];
    await mkdir(join(project, 'src/sub1'), { recursive: true });
    await writeFile(join(project, edited), edits[0]);
    await mkdir(join(project, 'made while down'), { recursive: true });
    await writeFile(join(project, created), edits[1]);
    await unlink(join(project, 'run.sh'));
    await waitGone(agent, 'the killed agent');

    const syncs = await convergedAfter(t, mark, differences);
    const reconnect = t.events.slice(mark).find((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect');
    expect(reconnect, 'a full verify after the reconnect').toBeDefined();
    expect(syncs.at(-1)!.data.inSync).toBe(true);
    // The new agent found the files on its root: only the edits travelled.
    expect(bytesOf(syncs)).toBeLessThanOrEqual(edits[0].length + edits[1].length);
    // In this order, possibly with failed reconnects (disconnected again) between.
    const states = agentStates(t, mark);
    const order = ['disconnected', 'starting', 'connecting', 'connected'].map((s, i, all) => states.indexOf(s, i === 0 ? 0 : states.indexOf(all[i - 1])));
    expect(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1])), `agent states: ${states.join(' → ')}`).toBe(true);
    expect(states.at(-1)).toBe('connected');

    const after = await sessionStatus(project, env);
    expect(after.agent.state).toBe('connected');
    expect(after.agent.pid).not.toBe(agent);
    expect(isAlive(after.agent.pid!)).toBe(true);
    expect(await daemonPid(env), 'the daemon lived through it').toBe(daemon);
    expect(await readFile(join(agentRoot, created))).toEqual(edits[1]);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
  });

  it('an agent killed in the middle of a large file: its temporary file is swept, the daemon lives on, the file arrives whole', async () => {
    const { t, daemon, agent } = await startSession();
    const mark = t.events.length;
    const huge = randomBytes(HUGE_FILE_BYTES);
    // Written beside the project and moved in, as editors save: the watcher sees it whole.
    await writeFile(join(work, 'huge.bin'), huge);
    await rename(join(work, 'huge.bin'), join(project, 'huge.bin'));
    // The agent's temporary file for it appearing is the sign that the file is half across.
    const leftover = await tempAppears(agentRoot);
    process.kill(agent, 'SIGKILL');
    await t.waitFor((e) => e.event === 'agent.state' && e.data.state === 'disconnected', EVENT_WAIT_MS, mark);
    await waitGone(agent, 'the killed agent');
    // The kill cut the sync that carried the file.
    await t.waitFor((e) => e.event === 'sync.failed', EVENT_WAIT_MS, mark);

    await convergedAfter(t, mark, differences);
    expect((await readFile(join(agentRoot, 'huge.bin'))).equals(huge)).toBe(true);
    expect(await tempFilesUnder(agentRoot), `${leftover} and any other temporary file swept`).toEqual([]);
    expect(await daemonPid(env), 'the daemon lived through it').toBe(daemon);
    expect((await sessionStatus(project, env)).agent.state).toBe('connected');
  });

  it('an agent killed while the first sync still streams the scan: the session reconnects, converges, and knows the whole project', async () => {
    const huge = randomBytes(HUGE_FILE_BYTES);
    await writeFile(join(project, 'huge.bin'), huge);
    // Enough small files that the walk is still going when the batch begins (it begins with the first directory).
    for (let d = 0; d < WIDE_DIRS; d++) {
      mkdirSync(join(project, 'wide', `d${d}`), { recursive: true });
      for (let f = 0; f < WIDE_FILES_PER_DIR; f++) writeFileSync(join(project, 'wide', `d${d}`, `f${f}`), `${d}/${f}`);
    }
    const t = new DevTerminal([project, '--local-root', agentRoot], env);
    terminals.push(t);
    const agent = await agentPidOn(agentRoot);
    // The batch's stage appearing in the empty root is the sign that the streamed first sync is under way.
    await tempAppears(agentRoot);
    process.kill(agent, 'SIGKILL');
    const started = await t.waitFor((e) => e.event === 'sync.started' && e.data.reason === 'initial', EVENT_WAIT_MS);
    expect(started.data.scanning, 'the first sync went out while the scan walked').toBe(true);
    await t.waitFor((e) => e.event === 'agent.state' && e.data.state === 'disconnected', EVENT_WAIT_MS);
    await waitGone(agent, 'the killed agent');
    await t.waitFor((e) => e.event === 'sync.failed' && e.data.batch === started.data.batch, EVENT_WAIT_MS);

    await convergedAfter(t, 0, differences);
    expect((await readFile(join(agentRoot, 'huge.bin'))).equals(huge)).toBe(true);
    expect(await tempFilesUnder(agentRoot)).toEqual([]);
    const status = await sessionStatus(project, env);
    expect([status.agent.state, status.problemCount, status.inSync]).toEqual(['connected', 0, true]);
    // The session's tree is the whole project, not the part the cut sync took: an edit goes out alone.
    const mark = t.events.length;
    await writeFile(join(project, 'src', 'after the cut.txt'), 'one more\n');
    const watched = await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'watch', EVENT_WAIT_MS, mark);
    expect(watched.data).toMatchObject({ uploaded: 1, deleted: 0, inSync: true });
  });
});
