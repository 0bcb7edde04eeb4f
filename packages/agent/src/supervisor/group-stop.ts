import { ZOMBIE_STATE } from '../init/proc-stat.ts';
import { readProcTable } from '../init/proc-table.ts';
import { GROUP_EXIT_POLL_MAX_MS, GROUP_EXIT_POLL_MS } from './constants.ts';
import { signalGroup, type ExitInfo, type GroupProcess } from './process-group.ts';

export interface StopResult extends ExitInfo {
  /** SIGKILL was needed: the group outlived the grace period. */
  forced: boolean;
  /** The command did not end even after SIGKILL and the wait (stuck in the kernel). */
  lost: boolean;
}

/**
 * Stops a group: `signal` (SIGTERM unless told otherwise) to every member,
 * then the grace period, which lasts until the whole group is done, not just
 * until its leader exits: with `run: node app.js` the leader is a shell that
 * dies of SIGTERM at once while node is still closing its server, and a
 * SIGKILL then would cut that short. Whoever is left after `graceMs` gets
 * SIGKILL. Then a final SIGKILL to the group (the launcher, which stays to
 * the end on purpose) and a wait (up to `killWaitMs`) until no member is
 * left running: a member that got the signal but has not been scheduled to
 * die yet still holds its port, and the next start would fail on it.
 *
 * The result is how the command itself (the shell) ended, as before.
 */
export async function stopGroup(
  proc: GroupProcess,
  options: { graceMs: number; killWaitMs: number; signal?: NodeJS.Signals },
): Promise<StopResult> {
  signalGroup(proc.pid, options.signal ?? 'SIGTERM');
  const forced = !(await untilDone(proc, options.graceMs));
  if (forced) signalGroup(proc.pid, 'SIGKILL');
  const result = await within(proc.exited, options.killWaitMs);
  signalGroup(proc.pid, 'SIGKILL');
  if (result === null) return { code: null, signal: null, forced, lost: true };
  await untilGroupGone(proc.pid, options.killWaitMs);
  return { ...result, forced, lost: false };
}

/**
 * True once the command has ended and no other member of its group runs
 * (the launcher does not count: it waits for its group's end); false when
 * `ms` passed first. Polls, from GROUP_EXIT_POLL_MS up to
 * GROUP_EXIT_POLL_MAX_MS: the members are not our children, so no event
 * tells when they are gone. The command's own end wakes it at once.
 */
async function untilDone(proc: GroupProcess, ms: number): Promise<boolean> {
  let ended = false;
  void proc.exited.then(() => {
    ended = true;
  });
  const deadline = Date.now() + ms;
  const except = proc.launched ? proc.pid : undefined;
  let poll = GROUP_EXIT_POLL_MS;
  for (;;) {
    if (ended && !groupHasLiveMembers(proc.pid, except)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    const wait = Math.min(poll, left);
    await (ended ? delay(wait) : within(proc.exited, wait));
    poll = Math.min(poll * 2, GROUP_EXIT_POLL_MAX_MS);
  }
}

/**
 * True while a process of group `pgid` other than `except` is running.
 * Zombies do not count: they hold nothing but a pid, and their reaping is
 * someone else's business.
 */
export function groupHasLiveMembers(pgid: number | undefined, except?: number): boolean {
  if (pgid === undefined || pgid <= 1) return false;
  // Cheap first: kill(-pgid, 0) fails once the group is empty (zombies included).
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  return readProcTable('/proc', (stat) => stat.pgrp === pgid && stat.pid !== except && stat.state !== ZOMBIE_STATE).length > 0;
}

async function untilGroupGone(pgid: number | undefined, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (groupHasLiveMembers(pgid) && Date.now() < deadline) await delay(GROUP_EXIT_POLL_MS);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
