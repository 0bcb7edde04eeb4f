import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { trackOwnChild } from '../init/own-children.ts';
import { readLink } from './launch-link.ts';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started. */
  error?: Error;
}

/**
 * A shell command line running in a process group of its own (`detached:
 * true` is setsid(): new session, pgid = the spawned pid). Signals go to the
 * whole group, so `sh -c 'a | b'`, npm's child node, or a background job the
 * app started all get them, and a stop leaves nothing behind.
 *
 * With skiff-launch the group's leader is the launcher and the shell its
 * child: the launcher reports the shell's pid and end over its link (fd 3)
 * and stays in the group until the group is killed, so that the agent's
 * death, even by SIGKILL, takes the whole group down (skiff-launch.c).
 * Without it the shell itself leads the group.
 */
export interface GroupProcess {
  /** Pid of the group's leader, which is the group id. Undefined when the spawn itself failed (e.g. the working directory is missing). */
  readonly pid: number | undefined;
  /** True when the leader is skiff-launch: it stays in the group until the group is killed, and is not part of the app. */
  readonly launched: boolean;
  readonly child: ChildProcess;
  /** Settles with the pid of the command (the shell) once it runs; undefined when it never did. Never rejects. */
  readonly commandPid: Promise<number | undefined>;
  /** Settles once, when the command (the shell) has ended, or the spawn failed. Never rejects. */
  readonly exited: Promise<ExitInfo>;
  /** Settles when stdout and stderr are closed: all output has been delivered. Never rejects. */
  readonly closed: Promise<void>;
}

export interface SpawnGroupOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  /** Path of skiff-launch; absent: the shell leads the group itself. */
  launcher?: string;
}

export function spawnGroup(command: string, options: SpawnGroupOptions): GroupProcess {
  const shell = ['/bin/sh', '-c', command];
  const launched = options.launcher !== undefined;
  const child = spawn(launched ? options.launcher! : shell[0], launched ? shell : shell.slice(1), {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    // No terminal and no input: the app must not compete with the agent for
    // stdin. fd 3 is the launcher's link; we never write to it or close it.
    stdio: launched ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
  });
  trackOwnChild(child);
  const leaderExited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // 'error' without a pid is a failed spawn: no 'exit' will follow. With a pid
    // it is a failed kill() or similar, and 'exit' still comes.
    child.once('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
  const link = child.stdio[3] as Readable | null | undefined;
  const reported = launched && child.pid !== undefined && link ? readLink(link, leaderExited) : { pid: Promise.resolve(child.pid), exited: leaderExited };
  // Output waits until whoever waits for the pid has it: the launcher writes
  // the pid before the command runs, but Node may read the output pipe first,
  // and the app's first lines must not come before its running status.
  const held: Array<() => void> = [];
  let holding = true;
  const deliver =
    (to: (chunk: Buffer) => void) =>
    (chunk: Buffer): void => {
      if (holding) held.push(() => to(chunk));
      else to(chunk);
    };
  const released = reported.pid.then(
    () =>
      new Promise<void>((resolve) =>
        setImmediate(() => {
          holding = false;
          for (const flush of held.splice(0)) flush();
          resolve();
        }),
      ),
  );
  child.stdout?.on('data', deliver(options.onStdout));
  child.stderr?.on('data', deliver(options.onStderr));
  const pipesClosed = new Promise<void>((resolve) => {
    let open = 2;
    const one = () => {
      if (--open === 0) resolve();
    };
    // 'close' of the pipes, not of the child: the launcher outlives the
    // command, and its own end says nothing about the app's output.
    if (child.stdout) child.stdout.once('close', one);
    else one();
    if (child.stderr) child.stderr.once('close', one);
    else one();
    void leaderExited.then((info) => {
      if (info.error !== undefined) resolve();
    });
  });
  const closed = Promise.all([pipesClosed, released]).then(() => undefined);
  // Nor may the end of what it printed so far come after the end of the command.
  const exited = Promise.all([reported.exited, released]).then(([info]) => info);
  return { pid: child.pid, launched, child, commandPid: reported.pid, exited, closed };
}

/**
 * Sends `signal` to the process group `pgid`. False when the group is gone.
 * Never signals pgid <= 1: kill(-1) is every process we may signal, and
 * kill(0) our own group.
 */
export function signalGroup(pgid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pgid === undefined || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}
