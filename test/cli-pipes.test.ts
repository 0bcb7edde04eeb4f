import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { privateRuntime, stopDaemon } from './support/dev-session.ts';
import { SKIFF_BIN, jsonOf, runSkiff } from './support/run-cli.ts';

/**
 * `skiff ... | head`: the reader of skiff's output goes away. skiff ends
 * quietly (no EPIPE stack trace, the exit status of its command), and a
 * terminal that follows a session detaches from it: the session goes on.
 */

const EXIT_WAIT_MS = 20_000;

interface PipedRun {
  /** The output read before the reader went away. */
  read: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs `skiff ARGS` with stdout into a pipe that this side closes — at once
 * (`closeAt` 0: the reader is gone before skiff writes anything), or after
 * the first `closeAt` lines, as `head -n` does — and waits for skiff to exit.
 */
function runIntoClosedPipe(args: string[], env: NodeJS.ProcessEnv, closeAt: number): Promise<PipedRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SKIFF_BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let read = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (closeAt === 0) child.stdout.destroy();
    else {
      child.stdout.on('data', (d: Buffer) => {
        read += d.toString();
        if (read.split('\n').length > closeAt) child.stdout.destroy();
      });
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`skiff ${args.join(' ')} did not exit within ${EXIT_WAIT_MS} ms after its reader went away; stderr: ${stderr}`));
    }, EXIT_WAIT_MS);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ read, code, signal, stderr });
    });
  });
}

describe('output into a closed pipe', () => {
  let work: string;
  let project: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-cli-pipe-'));
    env = (await privateRuntime()).env;
    project = join(work, 'project');
    await mkdir(project);
    // An app that keeps printing, so that a follower has something to write after its reader left.
    await writeFile(join(project, 'skiff.yaml'), 'run: node -e "setInterval(() => console.log(\'tick \' + Date.now()), 50)"\n');
  });
  afterEach(async () => {
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  it('skiff status --json | head -c 10, and --help, end quietly with their own exit status', async () => {
    for (const [args, code] of [
      [['status', project, '--json'], 3],
      [['status', project], 3],
      [['--help'], 0],
      [['sessions', '--json'], 0],
    ] as const) {
      const r = await runIntoClosedPipe([...args], env, 0);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.signal).toBeNull();
      expect(r.code, args.join(' ')).toBe(code);
    }
  });

  it('skiff dev --json | head -1 detaches the terminal and the session keeps running; logs -f | head -1 ends too', async () => {
    const dev = await runIntoClosedPipe(['dev', project, '--local-root', join(work, 'agent-root'), '--json'], env, 1);
    expect(dev.stderr).toBe('');
    expect(dev.code).toBe(0);
    expect(JSON.parse(dev.read.split('\n')[0])).toHaveProperty('event');

    const status = await runSkiff(['status', project, '--json'], { env });
    expect(status.code).toBe(0);
    const session = jsonOf<{ session: { state: string; clients: number; agent: { state: string } } }>(status).session;
    expect(session.state).not.toBe('failed');
    expect(session.state).not.toBe('stopped');
    expect(session.agent.state).not.toBe('stopped');

    const logs = await runIntoClosedPipe(['logs', '-f', project], env, 1);
    expect(logs.read).toMatch(/\S/);
    expect(logs.stderr).not.toMatch(/EPIPE|Error:|\n\s+at /);
    expect(logs.code).toBe(0);

    const human = await runIntoClosedPipe(['dev', project], env, 1);
    expect(human.read).toContain(`skiff dev ${project}`);
    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    // Neither terminal took the session with it.
    expect((await runSkiff(['status', project], { env })).code).toBe(0);
  });
});
