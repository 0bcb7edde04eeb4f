import { loadReaperAddon, type AddonLoad, type ReaperAddon } from './addon.ts';
import { isOwnChild } from './own-children.ts';
import type { ProcStat } from './proc-stat.ts';
import { listZombieChildren } from './zombies.ts';

/*
 * Zombie reaping for an agent that runs as PID 1 (or as a child subreaper).
 *
 * Node as PID 1 does not reap orphans: libuv collects only the children it
 * spawned, each with waitpid(its pid), so an orphan reparented to us stays a
 * zombie (measured: it does). The reaper collects those orphans without ever
 * taking one of Node's own children, because libuv that loses a child's exit
 * drops it silently and the ChildProcess never emits 'exit'.
 *
 * How: on SIGCHLD (Node lets a listener coexist with libuv's own SIGCHLD
 * handling, measured) and on a periodic sweep, list our zombie children from
 * /proc; skip the pids registered in own-children.ts; collect the rest with
 * waitpid(that pid, WNOHANG) through the addon.
 *
 * Why not waitid(P_ALL, WEXITED|WNOHANG|WNOWAIT) to peek: it always reports
 * the same first waitable child, and when that is one of Node's own (not yet
 * collected by libuv) every orphan behind it stays invisible.
 *
 * A second guard for children spawned by code that does not register them:
 * a zombie is collected only when a scan sees it (same pid and start time)
 * for the second time, at least one event-loop turn later. libuv collects its
 * children in the same poll phase that delivers SIGCHLD, so a zombie that
 * survives a full loop turn after its SIGCHLD is not libuv's.
 */

/** Sweep period: catches SIGCHLDs merged by the kernel and a listener installed late. */
export const REAP_SWEEP_INTERVAL_MS = 1_000;
/** Delay before the confirming scan of a zombie seen once; any delay > 0 is a later loop turn. */
export const REAP_CONFIRM_MS = 50;

/** The variable that turns reaping on outside PID 1 (tests, a local agent). */
export const REAP_ENV_VAR = 'SKIFF_AGENT_REAP';

function sightingKey(stat: ProcStat): string {
  return `${stat.pid}:${stat.startTime}`;
}

/**
 * Which zombies to collect now. Pure. `seen` holds the keys of unregistered
 * zombies of the previous scan; the result's `seen` replaces it.
 */
export function selectReapable(
  zombies: readonly ProcStat[],
  isOwn: (pid: number) => boolean,
  seen: ReadonlySet<string>,
): { reap: ProcStat[]; seen: Set<string> } {
  const reap: ProcStat[] = [];
  const next = new Set<string>();
  for (const zombie of zombies) {
    if (isOwn(zombie.pid)) continue;
    const key = sightingKey(zombie);
    if (seen.has(key)) reap.push(zombie);
    else next.add(key);
  }
  return { reap, seen: next };
}

export interface ReapedProcess {
  pid: number;
  comm: string;
  exitCode: number | null;
  signal: number | null;
}

export interface ReaperOptions {
  addon: ReaperAddon;
  log: (message: string) => void;
  /** Whose children to reap: our pid by default. */
  pid?: number;
  procRoot?: string;
  sweepIntervalMs?: number;
  confirmMs?: number;
  onReaped?: (reaped: ReapedProcess) => void;
}

export class Reaper {
  private seen = new Set<string>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private confirmTimer: NodeJS.Timeout | null = null;
  private readonly onSigchld = (): void => this.sweep();
  /** Orphans collected since start. */
  reapedCount = 0;

  constructor(private readonly options: ReaperOptions) {}

  start(): void {
    if (this.sweepTimer !== null) return;
    process.on('SIGCHLD', this.onSigchld);
    // unref: reaping alone must not keep the agent alive.
    this.sweepTimer = setInterval(this.onSigchld, this.options.sweepIntervalMs ?? REAP_SWEEP_INTERVAL_MS).unref();
    this.sweep();
  }

  stop(): void {
    process.off('SIGCHLD', this.onSigchld);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    if (this.confirmTimer !== null) clearTimeout(this.confirmTimer);
    this.sweepTimer = null;
    this.confirmTimer = null;
  }

  /** One scan: collects confirmed orphans, schedules a confirming scan for new ones. Never throws. */
  sweep(): void {
    try {
      const zombies = listZombieChildren(this.options.pid ?? process.pid, this.options.procRoot);
      const { reap, seen } = selectReapable(zombies, isOwnChild, this.seen);
      this.seen = seen;
      for (const zombie of reap) this.collect(zombie);
      if (seen.size > 0 && this.confirmTimer === null && this.sweepTimer !== null) {
        this.confirmTimer = setTimeout(() => {
          this.confirmTimer = null;
          this.sweep();
        }, this.options.confirmMs ?? REAP_CONFIRM_MS).unref();
      }
    } catch (err) {
      this.options.log(`zombie reaper: scan failed: ${(err as Error).message}`);
    }
  }

  private collect(zombie: ProcStat): void {
    // Registered meanwhile? (Cannot happen for a zombie, which is past spawn; checked for the invariant's sake.)
    if (isOwnChild(zombie.pid)) return;
    const exit = this.options.addon.reap(zombie.pid);
    if (exit === null) return; // collected by someone else, or not ours after all
    this.reapedCount++;
    this.options.onReaped?.({ pid: exit.pid, comm: zombie.comm, exitCode: exit.exitCode, signal: exit.signal });
  }
}

export interface ReapingHandle {
  /** The running reaper, or null when reaping is off or the addon is missing. */
  reaper: Reaper | null;
  stop(): void;
}

/**
 * Starts reaping when this process is PID 1, or when SKIFF_AGENT_REAP=1 (then
 * it also becomes a child subreaper, so orphans of its descendants come to it
 * without a PID namespace). Without the addon it logs one warning and
 * carries on: the app still runs, orphans just stay zombies.
 */
export function startReaping(options: {
  log: (message: string) => void;
  env?: NodeJS.ProcessEnv;
  pid?: number;
  onReaped?: (reaped: ReapedProcess) => void;
  /** Default loadReaperAddon. */
  load?: (env: NodeJS.ProcessEnv) => AddonLoad;
}): ReapingHandle {
  const env = options.env ?? process.env;
  const pid = options.pid ?? process.pid;
  const asked = env[REAP_ENV_VAR] === '1';
  if (pid !== 1 && !asked) return { reaper: null, stop() {} };
  const loaded = (options.load ?? loadReaperAddon)(env);
  if (!loaded.ok) {
    options.log(`warning: orphaned processes will not be reaped: ${loaded.reason}`);
    return { reaper: null, stop() {} };
  }
  if (pid !== 1) {
    try {
      loaded.addon.setChildSubreaper();
    } catch (err) {
      options.log(`warning: could not become a child subreaper, orphans go to PID 1: ${(err as Error).message}`);
    }
  }
  const reaper = new Reaper({ addon: loaded.addon, log: options.log, pid, onReaped: options.onReaped });
  reaper.start();
  return { reaper, stop: () => reaper.stop() };
}
