import { spawn, type ChildProcess } from 'node:child_process';
import { trackOwnChild } from '../init/own-children.ts';
import { ZOMBIE_STATE } from '../init/proc-stat.ts';
import { readProcTable } from '../init/proc-table.ts';
import { GROUP_EXIT_POLL_MS } from './constants.ts';

/**
 * A shell command line running as the leader of its own process group
 * (`detached: true` is setsid(): new session, pgid = pid). Signals go to the
 * whole group, so `sh -c 'a | b'`, npm's child node, or a background job the
 * app started all get them, and a stop leaves nothing behind.
 */
export interface GroupProcess {
  /** Undefined when the spawn itself failed (e.g. the working directory is missing). */
  readonly pid: number | undefined;
  readonly child: ChildProcess;
  /** Settles once, when the leader has exited (or the spawn failed). Never rejects. */
  readonly exited: Promise<ExitInfo>;
  /** Settles when stdout and stderr are closed: all output has been delivered. Never rejects. */
  readonly closed: Promise<void>;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started. */
  error?: Error;
}

export interface SpawnGroupOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

export function spawnGroup(command: string, options: SpawnGroupOptions): GroupProcess {
  const child = spawn('/bin/sh', ['-c', command], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    // No terminal and no input: the app must not compete with the agent for stdin.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackOwnChild(child);
  child.stdout?.on('data', options.onStdout);
  child.stderr?.on('data', options.onStderr);
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // 'error' without a pid is a failed spawn: no 'exit' will follow. With a pid
    // it is a failed kill() or similar, and 'exit' still comes.
    child.once('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    void exited.then((info) => {
      if (info.error !== undefined) resolve();
    });
  });
  return { pid: child.pid, child, exited, closed };
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

export interface StopResult extends ExitInfo {
  /** SIGKILL was needed: the group outlived the grace period. */
  forced: boolean;
  /** The leader did not exit even after SIGKILL and the wait (stuck in the kernel). */
  lost: boolean;
}

/**
 * Stops a group: `signal` (SIGTERM unless told otherwise) to every member,
 * SIGKILL to the group after `graceMs` if the leader is still there, and a
 * final SIGKILL to the group once the leader has gone. Then it waits (up to
 * `killWaitMs`) until no member is left running: a member that got the
 * signal but has not been scheduled to die yet still holds its port, and
 * the next start would fail on it.
 */
export async function stopGroup(
  proc: GroupProcess,
  options: { graceMs: number; killWaitMs: number; signal?: NodeJS.Signals },
): Promise<StopResult> {
  const signal = options.signal ?? 'SIGTERM';
  signalGroup(proc.pid, signal);
  let result = await within(proc.exited, options.graceMs);
  let forced = false;
  if (result === null) {
    forced = true;
    signalGroup(proc.pid, 'SIGKILL');
    result = await within(proc.exited, options.killWaitMs);
  }
  signalGroup(proc.pid, 'SIGKILL');
  if (result === null) return { code: null, signal: null, forced, lost: true };
  await untilGroupGone(proc.pid, options.killWaitMs);
  return { ...result, forced, lost: false };
}

/**
 * True while a process of group `pgid` is running. Zombies do not count: they
 * hold nothing but a pid, and their reaping is someone else's business.
 */
export function groupHasLiveMembers(pgid: number | undefined): boolean {
  if (pgid === undefined || pgid <= 1) return false;
  // Cheap first: kill(-pgid, 0) fails once the group is empty (zombies included).
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  return readProcTable('/proc', (stat) => stat.pgrp === pgid && stat.state !== ZOMBIE_STATE).length > 0;
}

async function untilGroupGone(pgid: number | undefined, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (groupHasLiveMembers(pgid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, GROUP_EXIT_POLL_MS));
  }
}

/** The promise's value, or null if `ms` passes first. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}
