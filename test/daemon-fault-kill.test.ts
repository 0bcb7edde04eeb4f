import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { runSkiff } from './support/run-cli.ts';
import { bytesLacking, daemonPid, initialSync } from './support/fault-daemon.ts';
import { childExited, childPids, waitGone } from './support/fault-process.ts';
import { FAULT_LONG, faultSeed, prng } from './support/fault-seed.ts';
import { tempFilesUnder } from './support/fault-versions.ts';
import { generateProject, type GeneratedTree } from './support/gen-tree.ts';
import { compareTrees, listTree } from './support/tree-compare.ts';

/**
 * `skiff dev` on a generated tree, and the daemon SIGKILLed at seeded points:
 * part way through the first sync, in the middle of a storm of edits, right
 * after a save. Each time `skiff dev` is started again and the agent's root
 * must converge to the source (the first sync of the new daemon finishes in
 * sync, the trees compare equal, no temporary file is left), and the new
 * daemon must send only what the agent lacks: after a kill in the first sync
 * exactly the bytes missing from the root, after a kill in steady state no
 * more than what the edits touched, never the whole tree again.
 *
 * The kill delays are fault injection, not waits for a result: every
 * assertion waits on events with deadlines.
 */
const seed = faultSeed();
const RoundKind = { INITIAL: 'initial', STORM: 'storm', SAVE: 'save' } as const;
type RoundKind = (typeof RoundKind)[keyof typeof RoundKind];
const CYCLE: RoundKind[] = [RoundKind.INITIAL, RoundKind.STORM, RoundKind.SAVE, RoundKind.STORM, RoundKind.SAVE];
const ROUNDS: RoundKind[] = FAULT_LONG ? [...CYCLE, ...CYCLE, ...CYCLE, ...CYCLE] : CYCLE;

const PROJECT_FILES = 1500;
/** Incompressible multi-MiB files, so the first sync lasts long enough (~0.5 s here) to be cut part way. */
const BIG_FILES = 8;
const BIG_FILE_BYTES = 4 * 1024 * 1024;
/**
 * A kill in the first sync lands once a seeded share of its bytes, up to this,
 * was reported sent. Progress comes every 100 ms, so the share stays where
 * more progress still follows.
 */
const INITIAL_KILL_MAX_SHARE = 0.5;
/** A storm: this many writes in steps, with a pause between steps, so it lasts a few hundred ms. */
const STORM_WRITES = 300;
const STORM_STEP = 10;
const STORM_PAUSE_MS = 15;
/** Up to past the storm's end, so that some kills land while its batch is sent or applied. */
const STORM_KILL_MAX_MS = 1000;
const STORM_FILE_MAX_BYTES = 4096;
/** A save is followed by the kill within this many ms. */
const SAVE_KILL_MAX_MS = 50;
const ROUND_TIMEOUT_MS = 40_000;

describe(`skiffd SIGKILLed at seeded points of a session (seed ${seed}; replay with SKIFF_FAULT_SEED=${seed})`, () => {
  const rand = prng(seed);
  let work: string;
  let env: NodeJS.ProcessEnv;
  let project: string;
  let agentRoot: string;
  let tree: GeneratedTree;
  const terminals: DevTerminal[] = [];

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-fault-kill-'));
    env = (await privateRuntime()).env;
    project = join(work, 'project');
    agentRoot = join(work, 'agent-root');
    tree = await generateProject(project, PROJECT_FILES, seed);
    await mkdir(join(project, 'media'), { recursive: true });
    for (let i = 0; i < BIG_FILES; i++) await writeFile(join(project, 'media', `big-${i}.bin`), randomBytes(BIG_FILE_BYTES));
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  const skip = (rel: string) => rel === '.skiff' || tree.ignored.includes(rel);
  const dev = () => {
    const t = new DevTerminal([project, '--local-root', agentRoot], env);
    terminals.push(t);
    return t;
  };

  /** SIGKILLs the daemon and waits until it, its agents and the terminal are gone. */
  async function killDaemon(pid: number, t: DevTerminal): Promise<void> {
    const agents = childPids(pid);
    process.kill(pid, 'SIGKILL');
    await waitGone(pid, 'the killed daemon');
    // Its local agents exit when their stdin closes; a new one must not race an old one on the root.
    for (const agent of agents) await waitGone(agent, 'an agent of the killed daemon');
    await childExited(t.child, 'the terminal of the killed daemon');
  }

  /** The daemon's pid; when none runs, a session of an empty side project starts one. */
  async function runningDaemonPid(): Promise<number> {
    const running = await daemonPid(env);
    if (running !== null) return running;
    const side = join(work, 'side');
    await mkdir(side, { recursive: true });
    const t = new DevTerminal([side, '--local-root', join(work, 'side-root')], env);
    terminals.push(t);
    await initialSync(t);
    await t.detach();
    return (await daemonPid(env))!;
  }

  /** Small files of the project an edit may rewrite; not the ignore files, whose rewrite would bring ignored files into the sync. */
  async function editableFiles(): Promise<string[]> {
    const all = await listTree(project, skip);
    return [...all]
      .filter(([rel, desc]) => desc.startsWith('file') && !rel.startsWith('media/') && !rel.endsWith('.gitignore') && Number(desc.split(' ')[2]) < STORM_FILE_MAX_BYTES)
      .map(([rel]) => rel)
      .sort();
  }

  /** Writes STORM_WRITES files (rewrites and new ones) in paced steps; returns the bytes written, by path. */
  async function storm(round: number, editable: string[]): Promise<Map<string, number>> {
    const touched = new Map<string, number>();
    await mkdir(join(project, `storm-${round}`), { recursive: true });
    for (let i = 0; i < STORM_WRITES; i++) {
      const rel = rand.next() < 0.5 ? rand.pick(editable) : `storm-${round}/f${i}.txt`;
      const data = randomBytes(rand.int(1, STORM_FILE_MAX_BYTES));
      await writeFile(join(project, rel), data);
      touched.set(rel, data.length);
      if (i % STORM_STEP === STORM_STEP - 1) await sleep(STORM_PAUSE_MS);
    }
    return touched;
  }

  it(`converges after each of ${ROUNDS.length} kills (${ROUNDS.join(', ')}), re-sending only what the agent lacks`, async () => {
    let current: DevTerminal | null = null;
    for (const [round, kind] of ROUNDS.entries()) {
      const where = `seed ${seed}, round ${round} (${kind})`;
      let bound: number;
      if (kind === RoundKind.INITIAL) {
        // A first sync into an empty root, cut part way. The daemon runs
        // before it starts, so its pid is at hand the moment the cut is due.
        if (current) {
          await current.detach();
          await runSkiff(['stop', project], { env });
        }
        await rm(agentRoot, { recursive: true, force: true });
        const pid = await runningDaemonPid();
        const t = dev();
        const share = rand.next() * INITIAL_KILL_MAX_SHARE;
        const trigger = await t.waitFor(
          (e) =>
            (e.event === 'sync.progress' && e.data.files < e.data.totalFiles && e.data.bytes >= share * e.data.totalBytes) ||
            e.event === 'sync.finished',
          60_000,
        );
        await killDaemon(pid, t);
        bound = await bytesLacking(project, agentRoot, skip);
        // Progress said the sync was under way: the kill cut it (a machine fast enough to skip every progress event cannot tell).
        if (trigger.event === 'sync.progress') expect(bound, `${where}: the kill landed inside the first sync`).toBeGreaterThan(0);
      } else {
        const t = current!;
        const pid = (await daemonPid(env))!;
        const editable = await editableFiles();
        if (kind === RoundKind.STORM) {
          const running = storm(round, editable);
          await sleep(rand.int(0, STORM_KILL_MAX_MS));
          await killDaemon(pid, t);
          // The storm goes on while no daemon runs: those edits must arrive too.
          const touched = await running;
          // A file the storm wrote and one it then deleted, both while the daemon is down.
          const gone = rand.pick([...touched.keys()]);
          await unlink(join(project, gone));
          touched.delete(gone);
          bound = [...touched.values()].reduce((a, b) => a + b, 0);
        } else {
          const rel = rand.pick(editable);
          const data = randomBytes(rand.int(1, STORM_FILE_MAX_BYTES));
          await writeFile(join(project, rel), data);
          await sleep(rand.int(0, SAVE_KILL_MAX_MS));
          await killDaemon(pid, t);
          bound = data.length;
        }
      }

      current = dev();
      const resumed = await initialSync(current);
      expect(resumed.data.inSync, where).toBe(true);
      expect(resumed.data.problems, where).toEqual([]);
      expect(await compareTrees(project, agentRoot, skip), where).toEqual([]);
      expect(await tempFilesUnder(agentRoot), where).toEqual([]);
      if (kind === RoundKind.INITIAL) expect(resumed.data.bytes, `${where}: bytes re-sent = bytes the root lacked`).toBe(bound);
      else expect(resumed.data.bytes, `${where}: bytes re-sent ≤ bytes the edits touched`).toBeLessThanOrEqual(bound);
    }
  }, ROUNDS.length * ROUND_TIMEOUT_MS);
});
