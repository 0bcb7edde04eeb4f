import type { ChildProcess } from 'node:child_process';

/**
 * Pids of the children Node itself spawned and is waiting for.
 *
 * Invariant: the reaper never collects one of these. libuv collects each child
 * it spawned with waitpid(that pid); if anyone else collects it first, libuv
 * sees ECHILD, silently drops the exit and the ChildProcess never emits
 * 'exit' (the supervisor would wait forever for a stopped app). So every
 * spawn in the agent that the reaper could see goes through `trackOwnChild`.
 *
 * A process-wide set on purpose: it mirrors a process-wide fact (the kernel's
 * list of our children), whoever spawned them.
 */
const pids = new Set<number>();

/** Registers `child` until it exits. Call right after spawn, in the same tick. */
export function trackOwnChild(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return; // the spawn failed: there is no process
  pids.add(pid);
  child.once('exit', () => pids.delete(pid));
}

export function isOwnChild(pid: number): boolean {
  return pids.has(pid);
}

/** A snapshot, for diagnostics and tests. */
export function ownChildren(): number[] {
  return [...pids];
}
