import { APP_SPEC_FIELDS, AppState, LogStream, appSpecEquals, normaliseAppSpec, type AppSpec, type AppStatusHeader } from '@skiff/protocol';
import type { AppEvents, AppHooks, CommittedBatch } from '../hooks.ts';
import { activateSpec, type ActiveSpec } from './active-spec.ts';
import { backoffDelay, nextFailures } from './backoff.ts';
import { resolveCommands, type ResolvedCommands } from './commands.ts';
import type { AppConfig } from './config.ts';
import { ASSEMBLE_TAIL_CHARS, ASSEMBLE_TAIL_LINES, DEFAULT_TIMING, OUTPUT_DRAIN_MS, type SupervisorTiming } from './constants.ts';
import { BatchAction, decideBatch } from './decide.ts';
import { AppFeed, type OutputSink } from './feed.ts';
import { stopGroup, within, type StopResult } from './group-stop.ts';
import { findLauncher, type LauncherLoad } from './launcher.ts';
import { foldBatch, foldSpecChange, type PendingWork } from './pending.ts';
import { signalGroup, spawnGroup, type ExitInfo, type GroupProcess } from './process-group.ts';
import { OutputTail } from './tail.ts';

export interface SupervisorOptions {
  /** The initial app spec (SKIFF_APP) and the directory the app runs in. */
  config: AppConfig;
  /** Shorter timings for tests; production uses the documented defaults. */
  timing?: Partial<SupervisorTiming>;
  /** Where app output is written through (so `docker logs` shows it). Default: process.stdout / process.stderr. */
  stdout?: OutputSink;
  stderr?: OutputSink;
  /** The environment the app and assemble inherit, before config.env. Default: process.env. */
  baseEnv?: NodeJS.ProcessEnv;
  now?: () => number;
  /** skiff-launch, or why there is none. Default: findLauncher(). */
  launcher?: LauncherLoad;
}

interface RunningApp {
  readonly proc: GroupProcess;
  /** The app's process group, the target of every signal. */
  readonly pgid: number | undefined;
  /** The command's own pid (the shell's), as reported: the group's leader, or skiff-launch's child. */
  pid: number | undefined;
  readonly startedAt: number;
  /** Set once a stop began; every caller waits for the same stop. */
  stopping: Promise<StopResult> | null;
}

/**
 * Runs the app: starts it after the first committed batch, restarts it once
 * per batch or app spec change (after assemble when needed), keeps it up with
 * backoff when it exits on its own, and publishes its status and output.
 *
 * Invariants:
 * - at most one app process group and one assemble exist at a time;
 * - batches and spec changes are handled one cycle at a time; whatever
 *   arrives meanwhile is folded into one further cycle (one restart for any
 *   number of them), which assembles when any of it needs assembling;
 * - a cycle runs with the spec it started with; a spec that arrives during
 *   it is the next cycle's;
 * - a failed assemble never stops the app that is running;
 * - after `shutdown` nothing starts again.
 */
export class Supervisor implements AppHooks {
  private readonly workdir: string;
  private readonly timing: SupervisorTiming;
  private readonly baseEnv: NodeJS.ProcessEnv;
  private readonly now: () => number;
  /** Path of skiff-launch; undefined: apps run under plain /bin/sh. */
  private readonly launcher: string | undefined;
  private active: ActiveSpec;
  private readonly feed: AppFeed;

  private app: RunningApp | null = null;
  private assembling: GroupProcess | null = null;
  private pending: PendingWork | null = null;
  /** A batch was committed: the app is due to run (nothing starts before the first sync). */
  private synced = false;
  private cycling = false;
  private assembleDirty = true;
  private everStarted = false;
  private restarts = 0;
  /** Consecutive short runs (see backoff.ts). */
  private failures = 0;
  private backoffTimer: NodeJS.Timeout | null = null;
  /** How the app last ended, quoted by a backoff status. */
  private lastExit: ExitInfo | null = null;
  private shuttingDown = false;

  constructor(options: SupervisorOptions) {
    const { workdir, ...spec } = options.config;
    this.workdir = workdir;
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
    this.now = options.now ?? Date.now;
    this.baseEnv = options.baseEnv ?? process.env;
    this.active = activateSpec(normaliseAppSpec(spec), this.baseEnv);
    const waiting: AppStatusHeader = { state: AppState.WAITING, restarts: 0, since: this.now(), message: 'waiting for the first sync' };
    this.feed = new AppFeed(waiting, options.stdout ?? process.stdout, options.stderr ?? process.stderr, this.now);
    const launcher = options.launcher ?? findLauncher(this.baseEnv);
    this.launcher = launcher.ok ? launcher.path : undefined;
    if (!launcher.ok) {
      // Once per agent, kept in the backlog for every terminal that attaches.
      this.system(`warning: the app runs under plain /bin/sh, and an agent killed with SIGKILL leaves it running: ${launcher.reason}`);
    }
  }

  /** The current status (a copy). */
  get status(): AppStatusHeader {
    return this.feed.status;
  }

  /** Pid of the running app's command (the shell), as the status reports it, once known. */
  get appPid(): number | undefined {
    return this.app?.pid;
  }

  committed(batch: CommittedBatch): void {
    if (this.shuttingDown) return;
    this.synced = true;
    this.pending = foldBatch(this.pending, batch.paths);
    if (!this.cycling) this.runCycles();
  }

  /**
   * A new app spec (the daemon's APP_SPEC). Equal to the one in force: nothing
   * happens. Different: it is in force from now on, and the app restarts once
   * with it (assembling again when `assemble` changed), folded with whatever
   * else is pending; before the first sync it only waits to be used.
   */
  applySpec(next: AppSpec): void {
    if (this.shuttingDown) return;
    const spec = normaliseAppSpec(next);
    const before = this.active.spec;
    if (appSpecEquals(spec, before)) return;
    const changed = APP_SPEC_FIELDS.filter((field) => !appSpecEquals({ [field]: spec[field] }, { [field]: before[field] }));
    this.active = activateSpec(spec, this.baseEnv);
    this.system(`the app spec changed (${changed.join(', ')})`);
    if (!this.synced) return;
    this.pending = foldSpecChange(this.pending, changed.includes('assemble'));
    if (!this.cycling) this.runCycles();
  }

  subscribe(events: AppEvents): () => void {
    return this.feed.subscribe(events);
  }

  /** Forwards `signal` to the app's process group. False when no app is running. */
  forwardSignal(signal: NodeJS.Signals): boolean {
    return signalGroup(this.app?.pgid, signal);
  }

  /**
   * Stops the app for good: `signal` to its group (and to a running
   * assemble), SIGKILL after the grace period. Resolves with how the app
   * ended, or null when no app was running.
   */
  async shutdown(signal: NodeJS.Signals = 'SIGTERM'): Promise<StopResult | null> {
    this.shuttingDown = true;
    this.pending = null;
    this.cancelBackoff();
    const assembling = this.assembling;
    const assembleStopped = assembling === null ? Promise.resolve(null) : stopGroup(assembling, { ...this.stopTiming(), signal });
    const app = this.app;
    const result = app === null ? null : await this.stopApp(app, signal);
    await assembleStopped;
    this.setStatus(AppState.EXITED, {
      exitCode: result?.code ?? null,
      signal: result?.signal ?? null,
      message: app === null ? 'agent shutting down' : `stopped by ${signal} (agent shutting down)`,
    });
    return result;
  }

  /** SIGKILL to the app's and assemble's groups at once (a second shutdown signal). */
  kill(): void {
    signalGroup(this.app?.pgid, 'SIGKILL');
    signalGroup(this.assembling?.pid, 'SIGKILL');
  }

  // ---- batches -------------------------------------------------------------

  private runCycles(): void {
    this.cycling = true;
    void (async () => {
      try {
        // One turn of patience: what is handed over in the same turn (a held
        // app spec and the commit of its batch) folds into this first cycle.
        await Promise.resolve();
        while (this.pending !== null && !this.shuttingDown) {
          const work = this.pending;
          this.pending = null;
          await this.cycle(work);
        }
      } catch (err) {
        // Reported, never rethrown: this runs from the receiver's callback.
        this.system(`internal error while handling a batch: ${(err as Error).stack ?? String(err)}`);
      } finally {
        this.cycling = false;
      }
    })();
  }

  private async cycle(work: PendingWork): Promise<void> {
    const active = this.active;
    const commands = await this.resolve(active);
    if (this.shuttingDown) return;
    const paths = [...work.paths];
    const decision = decideBatch({
      paths,
      batches: work.batches,
      specChanged: work.specChanged,
      assembleChanged: work.assembleChanged,
      hasRun: commands.run !== null,
      hasAssemble: commands.assemble !== null,
      appActive: this.app !== null || this.backoffTimer !== null,
      assembleDirty: this.assembleDirty,
      assembleOn: active.assembleOn,
      hotReload: active.hotReload,
    });
    if (decision.action === BatchAction.NO_COMMAND) {
      // An app started from a script that a later sync removed keeps running;
      // one whose spec no longer has a run command stops: the spec says so.
      if (work.specChanged) {
        this.cancelBackoff();
        if (this.app !== null) await this.stopApp(this.app, 'SIGTERM');
        if (this.shuttingDown) return;
      }
      if (this.app === null) this.setNoCommand();
      return;
    }
    if (decision.action === BatchAction.NONE) {
      if (paths.length > 0) this.system(`no restart: ${decision.reason}`);
      return;
    }
    const run = commands.run!.command;
    // A restart timer must not fire while the cycle assembles or restarts.
    this.cancelBackoff();
    if (decision.action === BatchAction.ASSEMBLE_AND_RESTART) {
      this.system(`assembling (${decision.reason})`);
      const ok = await this.assemble(commands.assemble!.command, active);
      if (this.shuttingDown) return;
      if (!ok) {
        // The previous app stays; if it died meanwhile, keep it up as before.
        if (this.app === null && this.everStarted) this.scheduleRestart(this.lastExit);
        return;
      }
    } else {
      this.system(`restarting (${decision.reason})`);
    }
    if (this.app !== null) await this.stopApp(this.app, 'SIGTERM');
    if (this.shuttingDown) return;
    // New code: the crash history of the old code says nothing about it.
    this.failures = 0;
    this.startApp(run, active);
  }

  /** The commands of `active`, with the S2I scripts standing in for absent ones. */
  private resolve(active: ActiveSpec): Promise<ResolvedCommands> {
    return resolveCommands({ ...active.spec, workdir: this.workdir });
  }

  private async assemble(command: string, active: ActiveSpec): Promise<boolean> {
    this.setStatus(AppState.ASSEMBLING, { pid: this.app?.pid, message: command });
    const tail = new OutputTail(ASSEMBLE_TAIL_LINES, ASSEMBLE_TAIL_CHARS);
    const proc = spawnGroup(command, {
      cwd: this.workdir,
      env: active.env,
      launcher: this.launcher,
      onStdout: (chunk) => {
        tail.push(chunk);
        this.output(LogStream.STDOUT, chunk);
      },
      onStderr: (chunk) => {
        tail.push(chunk);
        this.output(LogStream.STDERR, chunk);
      },
    });
    this.assembling = proc;
    const result = await proc.exited;
    // Assemble is over: a background job it left would hold its pipes and the
    // tree; the launcher goes with the group.
    signalGroup(proc.pid, 'SIGKILL');
    await within(proc.closed, OUTPUT_DRAIN_MS);
    this.assembling = null;
    if (this.shuttingDown) return false;
    if (result.code === 0) {
      this.assembleDirty = false;
      return true;
    }
    this.assembleDirty = true;
    const how = describeExit(result);
    const running = this.app?.pid;
    const keeps = running === undefined ? 'no previous app is running' : `the previous app keeps running (pid ${running})`;
    const lines = tail.lines();
    this.system(`assemble failed (${how}); ${keeps}`);
    this.setStatus(AppState.ASSEMBLE_FAILED, {
      pid: running,
      exitCode: result.code,
      signal: result.signal,
      message: `assemble failed (${how}); ${keeps}${lines === '' ? '' : `; last lines of its output:\n${lines}`}`,
    });
    return false;
  }

  // ---- the app process -----------------------------------------------------

  private startApp(command: string, active: ActiveSpec): void {
    const proc = spawnGroup(command, {
      cwd: this.workdir,
      env: active.env,
      launcher: this.launcher,
      onStdout: (chunk) => this.output(LogStream.STDOUT, chunk),
      onStderr: (chunk) => this.output(LogStream.STDERR, chunk),
    });
    if (this.everStarted) this.restarts++;
    this.everStarted = true;
    const app: RunningApp = { proc, pgid: proc.pid, pid: undefined, startedAt: this.now(), stopping: null };
    this.app = app;
    this.setStatus(AppState.STARTING, { message: command });
    // Known at once without the launcher; through its link (a moment later) with it.
    void proc.commandPid.then((pid) => {
      if (pid === undefined || this.app !== app || app.stopping !== null) return;
      app.pid = pid;
      this.system(`started pid ${pid}: ${command}`);
      this.setStatus(AppState.RUNNING, { pid, message: command });
    });
    void proc.exited.then((info) => {
      try {
        this.appExited(app, info);
      } catch (err) {
        this.system(`internal error after the app exited: ${(err as Error).stack ?? String(err)}`);
      }
    });
  }

  private appExited(app: RunningApp, info: ExitInfo): void {
    if (this.app === app) this.app = null;
    this.lastExit = info;
    // A stop in progress lets the rest of the group finish within its grace
    // period, ends the group itself and reports.
    if (app.stopping !== null) return;
    // The command ended on its own; whatever it left in its group (and the
    // launcher) goes too, so that a restart does not find the port taken.
    signalGroup(app.pgid, 'SIGKILL');
    if (this.shuttingDown) return;
    const ranFor = this.now() - app.startedAt;
    this.failures = nextFailures(this.failures, ranFor, this.timing.stableRunMs);
    const how = describeExit(info);
    this.system(`app ${how} after ${ranFor} ms`);
    this.setStatus(AppState.EXITED, { exitCode: info.code, signal: info.signal, message: `${how} after ${ranFor} ms` });
    // A cycle in progress starts the app itself (or re-arms this on a failed assemble).
    if (!this.cycling) this.scheduleRestart(info);
  }

  private scheduleRestart(last: ExitInfo | null): void {
    this.cancelBackoff();
    const delay = backoffDelay(Math.max(1, this.failures), this.timing.backoffBaseMs, this.timing.backoffCapMs);
    this.setStatus(AppState.BACKOFF, {
      exitCode: last?.code ?? null,
      signal: last?.signal ?? null,
      message: `restarting in ${delay} ms${last === null ? '' : ` (${describeExit(last)})`}`,
    });
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      if (this.cycling || this.shuttingDown || this.app !== null) return;
      void this.restartAfterBackoff().catch((err: unknown) => {
        this.system(`internal error while restarting the app: ${(err as Error).stack ?? String(err)}`);
      });
    }, delay);
  }

  private async restartAfterBackoff(): Promise<void> {
    const active = this.active;
    const commands = await this.resolve(active);
    if (this.cycling || this.shuttingDown || this.app !== null) return;
    if (commands.run === null) {
      this.setNoCommand();
      return;
    }
    this.startApp(commands.run.command, active);
  }

  private cancelBackoff(): void {
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
  }

  private stopApp(app: RunningApp, signal: NodeJS.Signals): Promise<StopResult> {
    app.stopping ??= (async () => {
      this.setStatus(AppState.STOPPING, { pid: app.pid });
      const result = await stopGroup(app.proc, { ...this.stopTiming(), signal });
      if (result.forced) this.system(`app process group ${app.pgid} outlived ${signal} by ${this.timing.stopGraceMs} ms: killed`);
      if (result.lost) this.system(`app process group ${app.pgid} did not exit even after SIGKILL; giving up on it`);
      // A lost process never reports its exit: forget it here.
      if (this.app === app) this.app = null;
      return result;
    })();
    return app.stopping;
  }

  private stopTiming(): { graceMs: number; killWaitMs: number } {
    return { graceMs: this.timing.stopGraceMs, killWaitMs: this.timing.killWaitMs };
  }

  private setNoCommand(): void {
    this.setStatus(AppState.NO_COMMAND, {
      message: 'no run command: set "run" in skiff.yaml or add an executable .s2i/bin/run to the project',
    });
  }

  // ---- publishing ----------------------------------------------------------

  private setStatus(state: AppState, fields: Partial<Omit<AppStatusHeader, 'state' | 'restarts' | 'since'>>): void {
    const status: AppStatusHeader = { state, restarts: this.restarts, since: this.now() };
    if (fields.pid !== undefined) status.pid = fields.pid;
    if (fields.exitCode !== undefined) status.exitCode = fields.exitCode;
    if (fields.signal !== undefined) status.signal = fields.signal;
    if (fields.message !== undefined) status.message = fields.message;
    this.feed.setStatus(status);
  }

  private output(stream: typeof LogStream.STDOUT | typeof LogStream.STDERR, chunk: Buffer): void {
    this.feed.output(stream, chunk);
  }

  private system(text: string): void {
    this.feed.system(text);
  }
}

export function describeExit(info: ExitInfo): string {
  if (info.error !== undefined) return `could not start: ${info.error.message}`;
  if (info.signal !== null) return `killed by ${info.signal}`;
  return `exit code ${info.code}`;
}
