import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Waiters } from './support/waiters.ts';

/**
 * The agent as PID 1 of its own PID namespace (`unshare --pid --fork
 * --mount-proc`): orphans are reaped, SIGTERM stops app and agent with the
 * documented exit code, other signals reach the app's process group.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = join(ROOT, 'test', 'fixtures', 'pid1-entry.ts');
const ADDON = join(ROOT, 'packages', 'agent', 'native', 'build', 'Release', 'reaper.node');

function unshareProblem(): string | null {
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' });
  if (probe.error) return `unshare is not available: ${probe.error.message}`;
  if (probe.status !== 0) return `unshare --pid is not permitted here: ${probe.stderr.trim() || `exit ${probe.status}`}`;
  return null;
}
const noUnshare = unshareProblem();
const noAddon = existsSync(ADDON) ? null : `the reaper addon is not built (${ADDON}); run: node packages/agent/native/build.mjs`;
if (noUnshare) console.warn(`skipping PID-1 tests: ${noUnshare}`);
if (!noUnshare && noAddon) console.warn(`skipping PID-1 reaping tests: ${noAddon}`);

const POLL_MS = 25;

interface Report {
  type: string;
  [key: string]: unknown;
}

class NamespacedAgent {
  readonly lines: string[] = [];
  readonly reports: Report[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Waiters(() => `output:\n${this.lines.join('\n')}`);
  private readonly child: ChildProcess;

  constructor(
    app: Record<string, unknown>,
    root: string,
    env: Record<string, string> = {},
    private readonly namespaced = true,
  ) {
    const node = [process.execPath, '--import', 'tsx', ENTRY];
    const [command, ...args] = namespaced ? ['unshare', '--pid', '--fork', '--mount-proc', ...node] : node;
    this.child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, SKIFF_APP: JSON.stringify(app), PID1_ROOT: root, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        this.lines.push(line);
        if (line.startsWith('pid1-report ')) this.reports.push(JSON.parse(line.slice('pid1-report '.length)) as Report);
      }
      this.waiters.poke();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.lines.push(`[stderr] ${text}`);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  /**
   * Resolves with the predicate's first truthy value, checked on every line
   * of output and every POLL_MS (for what prints nothing: /proc states).
   */
  until<T>(what: string, predicate: () => T | undefined | null | false, ms = 15_000): Promise<T> {
    return this.waiters.until(what, predicate, ms, POLL_MS);
  }

  /** Resolves once the app (not the agent's reports or logs) printed exactly `text` as a line. */
  line(text: string): Promise<string> {
    return this.until(`the app to print ${JSON.stringify(text)}`, () => this.appLines().find((l) => l === text));
  }

  appLines(): string[] {
    return this.lines.filter((l) => !l.startsWith('pid1-report ') && !l.startsWith('[stderr] '));
  }

  /** The agent's pid on the host: the child of `unshare` (PID 1 inside). */
  agentHostPid(): number {
    if (!this.namespaced) return this.child.pid!;
    const children = childrenOf(this.child.pid!);
    if (children.length !== 1) throw new Error(`expected one child of unshare ${this.child.pid}, found ${children.join(',')}`);
    return children[0];
  }

  kill(): void {
    // SIGKILL to the namespace's PID 1 takes every process of the namespace with it.
    try {
      process.kill(this.agentHostPid(), 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }
}

interface HostProc {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

function hostProcs(): HostProc[] {
  const out: HostProc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = text.lastIndexOf(')');
      const [state, ppid] = text.slice(close + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(ppid), state, comm: text.slice(text.indexOf('(') + 1, close) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function childrenOf(pid: number): number[] {
  return hostProcs().filter((p) => p.ppid === pid).map((p) => p.pid);
}

/** Every process below `pid` (seen from the host), with its state. */
function descendants(pid: number): HostProc[] {
  const all = hostProcs();
  const found: HostProc[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const p of all) {
      if (p.ppid === parent) {
        found.push(p);
        queue.push(p.pid);
      }
    }
  }
  return found;
}

let agents: NamespacedAgent[] = [];
let dirs: string[] = [];

async function startAgent(app: Record<string, unknown>, env: Record<string, string> = {}, namespaced = true): Promise<NamespacedAgent> {
  const root = await mkdtemp(join(tmpdir(), 'skiff-pid1-'));
  dirs.push(root);
  const agent = new NamespacedAgent(app, root, env, namespaced);
  agents.push(agent);
  await agent.until('the entry to start', () => agent.reports.find((r) => r.type === 'ready'));
  return agent;
}

afterEach(async () => {
  for (const agent of agents) agent.kill();
  await Promise.all(agents.map((a) => a.exited));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  agents = [];
  dirs = [];
});

/** Five double-forked sleeps: each is orphaned at once and reparented to PID 1, then exits. */
const ORPHANS_APP = 'for i in 1 2 3 4 5; do (sleep 0.2 &); done; echo orphans spawned; exec sleep 1000';

describe.skipIf(noUnshare !== null)('agent as PID 1', () => {
  it('runs as PID 1 of its namespace', async () => {
    const agent = await startAgent({ run: 'exec sleep 1000' });
    expect(agent.reports.find((r) => r.type === 'ready')?.pid).toBe(1);
  });

  it.skipIf(noAddon !== null)('reaps double-forked orphans: no zombie is left in the namespace', async () => {
    const agent = await startAgent({ run: ORPHANS_APP });
    await agent.line('orphans spawned');
    await agent.until('five orphans reaped', () => agent.reports.filter((r) => r.type === 'reaped').length >= 5);
    const reaped = agent.reports.filter((r) => r.type === 'reaped');
    expect(reaped.map((r) => r.comm)).toEqual(['sleep', 'sleep', 'sleep', 'sleep', 'sleep']);
    expect(reaped.every((r) => r.exitCode === 0)).toBe(true);
    // Seen from the host: the namespace holds the agent's tree and no zombie.
    const tree = descendants(agent.agentHostPid());
    expect(tree.filter((p) => p.state === 'Z')).toEqual([]);
    // The app itself (Node's own child) was left to libuv and still runs.
    expect(tree.some((p) => p.comm === 'sleep' && p.state !== 'Z')).toBe(true);
    expect(agent.reports.filter((r) => r.type === 'status' && r.state === 'running')).toHaveLength(1);
  });

  it('control: without init the same orphans stay zombies', async () => {
    const agent = await startAgent({ run: ORPHANS_APP }, { PID1_SKIP_INIT: '1' });
    await agent.line('orphans spawned');
    const host = agent.agentHostPid();
    const zombies = await agent.until('five zombies', () => {
      const z = descendants(host).filter((p) => p.state === 'Z');
      return z.length >= 5 ? z : undefined;
    });
    expect(zombies.map((p) => p.comm)).toEqual(['sleep', 'sleep', 'sleep', 'sleep', 'sleep']);
  });

  it('SIGTERM stops the app within the grace period; the agent exits with the app\'s own exit code', async () => {
    const agent = await startAgent({ run: "trap 'echo app got TERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done" });
    await agent.line('ready');
    process.kill(agent.agentHostPid(), 'SIGTERM');
    const end = await agent.exited;
    expect(agent.appLines()).toContain('app got TERM');
    // Its own 0, not 137: it was not killed.
    expect(end.code).toBe(0);
  });

  it('SIGTERM with `run: node app.js`: PID 1 waits for node\'s cleanup although the shell dies at once', async () => {
    const root = await mkdtemp(join(tmpdir(), 'skiff-pid1-app-'));
    dirs.push(root);
    await writeFile(
      join(root, 'app.js'),
      "process.on('SIGTERM', () => setTimeout(() => { console.log('cleaned up'); process.exit(0); }, 1000)); console.log('ready'); setInterval(() => {}, 1 << 30);\n",
    );
    const agent = await startAgent({ run: `${JSON.stringify(process.execPath)} ${join(root, 'app.js')}` });
    await agent.line('ready');
    process.kill(agent.agentHostPid(), 'SIGTERM');
    const end = await agent.exited;
    expect(agent.appLines()).toContain('cleaned up');
    // The command is the shell, which died of SIGTERM: 128 + 15, as the shell convention has it.
    expect(end.code).toBe(143);
  });

  it('SIGTERM to an app that dies of it: exit code 143 (128 + SIGTERM)', async () => {
    const agent = await startAgent({ run: 'echo ready; exec sleep 1000' });
    await agent.line('ready');
    process.kill(agent.agentHostPid(), 'SIGTERM');
    expect((await agent.exited).code).toBe(143);
  });

  it('SIGTERM to an app that ignores it: SIGKILL after the grace period, exit code 137', async () => {
    // It goes on after SIGTERM (long enough to say so), until it is killed.
    const agent = await startAgent(
      { run: "trap 'echo app got TERM; sleep 0.3; echo app still here' TERM; echo ready; while :; do sleep 0.05; done" },
      { PID1_GRACE_MS: '2000' },
    );
    await agent.line('ready');
    process.kill(agent.agentHostPid(), 'SIGTERM');
    const end = await agent.exited;
    expect(agent.appLines()).toEqual(expect.arrayContaining(['app got TERM', 'app still here']));
    expect(end.code).toBe(137);
  });

  it('SIGINT with no app running: exit code 130 (128 + SIGINT)', async () => {
    const agent = await startAgent({});
    await agent.until('no-command', () => agent.reports.find((r) => r.type === 'status' && r.state === 'no-command'));
    process.kill(agent.agentHostPid(), 'SIGINT');
    expect((await agent.exited).code).toBe(130);
  });

  it('SIGHUP, SIGUSR1 and SIGUSR2 reach the app\'s process group', async () => {
    const agent = await startAgent({
      run: "trap 'echo app got HUP' HUP; trap 'echo app got USR1' USR1; trap 'echo app got USR2' USR2; echo ready; while :; do sleep 0.05; done",
    });
    await agent.line('ready');
    const host = agent.agentHostPid();
    for (const signal of ['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) {
      process.kill(host, signal);
      await agent.line(`app got ${signal.slice(3)}`);
    }
    // The agent itself is still there and the app was not restarted.
    expect(agent.reports.filter((r) => r.type === 'status' && r.state === 'running')).toHaveLength(1);
  });
});

describe.skipIf(noAddon !== null)('agent as a child subreaper (SKIFF_AGENT_REAP=1, no namespace)', () => {
  it('reaps the orphans of its app although it is not PID 1', async () => {
    const agent = await startAgent({ run: ORPHANS_APP }, { SKIFF_AGENT_REAP: '1' }, false);
    expect(agent.reports.find((r) => r.type === 'ready')?.pid).not.toBe(1);
    await agent.line('orphans spawned');
    await agent.until('five orphans reaped', () => agent.reports.filter((r) => r.type === 'reaped').length >= 5);
    expect(descendants(agent.agentHostPid()).filter((p) => p.state === 'Z')).toEqual([]);
    process.kill(agent.agentHostPid(), 'SIGTERM');
    expect((await agent.exited).code).toBe(143);
  });
});
