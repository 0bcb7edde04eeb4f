import { AppState, LogStream, TOKEN_ENV, type AppStatusHeader } from '@skiff/protocol';
import type { AppEvents, AppHooks, CommittedBatch } from '../hooks.ts';
import { backoffDelay, nextFailures } from './backoff.ts';
import { LogBacklog } from './backlog.ts';
import { resolveCommands } from './commands.ts';
import { APP_CONFIG_VAR, type AppConfig } from './config.ts';
import {
  ASSEMBLE_TAIL_CHARS,
  ASSEMBLE_TAIL_LINES,
  DEFAULT_TIMING,
  LOG_BACKLOG_BYTES,
  LOG_BACKLOG_LINES,
  OUTPUT_DRAIN_MS,
  type SupervisorTiming,
} from './constants.ts';
import { BatchAction, decideBatch } from './decide.ts';
import { compilePatterns, type PathMatcher } from './patterns.ts';
import { signalGroup, spawnGroup, stopGroup, within, type ExitInfo, type GroupProcess, type StopResult } from './process-group.ts';
import { OutputTail } from './tail.ts';

/** Anything with a write(): the agent's own stdout/stderr by default. */
export interface OutputSink {
  write(chunk: Uint8Array | string): unknown;
}

export interface SupervisorOptions {
  config: AppConfig;
  /** Shorter timings for tests; production uses the documented defaults. */
  timing?: Partial<SupervisorTiming>;
  /** Where app output is written through (so `docker logs` shows it). Default: process.stdout / process.stderr. */
  stdout?: OutputSink;
  stderr?: OutputSink;
  /** The environment the app and assemble inherit, before config.env. Default: process.env. */
  baseEnv?: NodeJS.ProcessEnv;
  now?: () => number;
}

interface RunningApp {
  readonly proc: GroupProcess;
  readonly pid: number | undefined;
  readonly startedAt: number;
  /** Set once a stop began; every caller waits for the same stop. */
  stopping: Promise<StopResult> | null;
}

/** Prefix of the supervisor's own lines on the agent's stderr. */
const SYSTEM_PREFIX = 'skiff-agent: ';

/**
 * Runs the app: starts it after the first committed batch, restarts it once
 * per batch (after assemble when needed), keeps it up with backoff when it
 * exits on its own, and publishes its status and output.
 *
 * Invariants:
 * - at most one app process group and one assemble exist at a time;
 * - batches are handled one cycle at a time; batches arriving meanwhile are
 *   merged into one further cycle (one restart for any number of them);
 * - a failed assemble never stops the app that is running;
 * - after `shutdown` nothing starts again.
 */
export class Supervisor implements AppHooks {
  private readonly config: AppConfig;
  private readonly timing: SupervisorTiming;
  private readonly stdout: OutputSink;
  private readonly stderr: OutputSink;
  private readonly env: NodeJS.ProcessEnv;
  private readonly now: () => number;
  private readonly assembleOn: PathMatcher | null;
  private readonly hotReload: PathMatcher | null;

  private readonly subscribers = new Set<AppEvents>();
  private readonly backlog = new LogBacklog(LOG_BACKLOG_LINES, LOG_BACKLOG_BYTES);
  private current: AppStatusHeader;

  private app: RunningApp | null = null;
  private assembling: GroupProcess | null = null;
  private pending: Set<string> | null = null;
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
    this.config = options.config;
    this.timing = { ...DEFAULT_TIMING, ...options.timing };
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.env = appEnvironment(options.baseEnv ?? process.env, options.config.env);
    this.assembleOn = compilePatterns(options.config.assembleOn);
    this.hotReload = compilePatterns(options.config.hotReload);
    this.current = { state: AppState.WAITING, restarts: 0, since: this.now(), message: 'waiting for the first sync' };
  }

  /** The current status (a copy). */
  get status(): AppStatusHeader {
    return { ...this.current };
  }

  /** Pid (and process group id) of the running app, if any. */
  get appPid(): number | undefined {
    return this.app?.pid;
  }

  committed(batch: CommittedBatch): void {
    if (this.shuttingDown) return;
    this.pending ??= new Set();
    for (const path of batch.paths) this.pending.add(path);
    if (!this.cycling) this.runCycles();
  }

  subscribe(events: AppEvents): () => void {
    deliver(() => events.status(this.status));
    for (const entry of this.backlog.entries()) deliver(() => events.log(entry.stream, entry.data, entry.ts));
    this.subscribers.add(events);
    return () => {
      this.subscribers.delete(events);
    };
  }

  /** Forwards `signal` to the app's process group. False when no app is running. */
  forwardSignal(signal: NodeJS.Signals): boolean {
    return signalGroup(this.app?.pid, signal);
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
    signalGroup(this.app?.pid, 'SIGKILL');
    signalGroup(this.assembling?.pid, 'SIGKILL');
  }

  // ---- batches -------------------------------------------------------------

  private runCycles(): void {
    this.cycling = true;
    void (async () => {
      try {
        while (this.pending !== null && !this.shuttingDown) {
          const paths = [...this.pending];
          this.pending = null;
          await this.cycle(paths);
        }
      } catch (err) {
        // Reported, never rethrown: this runs from the receiver's callback.
        this.system(`internal error while handling a batch: ${(err as Error).stack ?? String(err)}`);
      } finally {
        this.cycling = false;
      }
    })();
  }

  private async cycle(paths: string[]): Promise<void> {
    const commands = await resolveCommands(this.config);
    if (this.shuttingDown) return;
    const decision = decideBatch({
      paths,
      hasRun: commands.run !== null,
      hasAssemble: commands.assemble !== null,
      appActive: this.app !== null || this.backoffTimer !== null,
      assembleDirty: this.assembleDirty,
      assembleOn: this.assembleOn,
      hotReload: this.hotReload,
    });
    if (decision.action === BatchAction.NO_COMMAND) {
      // An app started from a script that a later sync removed keeps running.
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
      const ok = await this.assemble(commands.assemble!.command);
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
    this.startApp(run);
  }

  private async assemble(command: string): Promise<boolean> {
    this.setStatus(AppState.ASSEMBLING, { pid: this.app?.pid, message: command });
    const tail = new OutputTail(ASSEMBLE_TAIL_LINES, ASSEMBLE_TAIL_CHARS);
    const proc = spawnGroup(command, {
      cwd: this.config.workdir,
      env: this.env,
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
    // Assemble is over: a background job it left would hold its pipes and the tree.
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

  private startApp(command: string): void {
    const proc = spawnGroup(command, {
      cwd: this.config.workdir,
      env: this.env,
      onStdout: (chunk) => this.output(LogStream.STDOUT, chunk),
      onStderr: (chunk) => this.output(LogStream.STDERR, chunk),
    });
    if (this.everStarted) this.restarts++;
    this.everStarted = true;
    const app: RunningApp = { proc, pid: proc.pid, startedAt: this.now(), stopping: null };
    this.app = app;
    if (proc.pid === undefined) {
      this.setStatus(AppState.STARTING, { message: command });
    } else {
      this.system(`started pid ${proc.pid}: ${command}`);
      this.setStatus(AppState.RUNNING, { pid: proc.pid, message: command });
    }
    void proc.exited.then((info) => {
      try {
        this.appExited(app, info);
      } catch (err) {
        this.system(`internal error after the app exited: ${(err as Error).stack ?? String(err)}`);
      }
    });
  }

  private appExited(app: RunningApp, info: ExitInfo): void {
    // The leader is gone; whatever it left in its group goes too, so that a
    // restart does not find the port taken.
    signalGroup(app.pid, 'SIGKILL');
    if (this.app === app) this.app = null;
    this.lastExit = info;
    if (app.stopping !== null || this.shuttingDown) return; // the stop reports it
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
    const commands = await resolveCommands(this.config);
    if (this.cycling || this.shuttingDown || this.app !== null) return;
    if (commands.run === null) {
      this.setNoCommand();
      return;
    }
    this.startApp(commands.run.command);
  }

  private cancelBackoff(): void {
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
  }

  private stopApp(app: RunningApp, signal: NodeJS.Signals): Promise<StopResult> {
    app.stopping ??= (async () => {
      this.setStatus(AppState.STOPPING, { pid: app.pid });
      const result = await stopGroup(app.proc, { ...this.stopTiming(), signal });
      if (result.forced) this.system(`app pid ${app.pid} outlived ${signal} by ${this.timing.stopGraceMs} ms: killed`);
      if (result.lost) this.system(`app pid ${app.pid} did not exit even after SIGKILL; giving up on it`);
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
    this.current = status;
    for (const events of this.subscribers) deliver(() => events.status({ ...status }));
  }

  /** App or assemble output: written through to the agent's own stream, kept, published. */
  private output(stream: typeof LogStream.STDOUT | typeof LogStream.STDERR, chunk: Buffer): void {
    (stream === LogStream.STDOUT ? this.stdout : this.stderr).write(chunk);
    this.publishLog(stream, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  /** A line about what the supervisor does, on the agent's stderr and to subscribers. */
  private system(text: string): void {
    const line = Buffer.from(`${SYSTEM_PREFIX}${text}\n`);
    this.stderr.write(line);
    this.publishLog(LogStream.SYSTEM, new Uint8Array(line.buffer, line.byteOffset, line.byteLength));
  }

  private publishLog(stream: LogStream, data: Uint8Array, ts = this.now()): void {
    this.backlog.push({ stream, data, ts });
    for (const events of this.subscribers) deliver(() => events.log(stream, data, ts));
  }
}

/** Calls a subscriber; one that throws must not stop the others or the supervisor. */
function deliver(call: () => void): void {
  try {
    call();
  } catch {
    // The subscriber's own failure is its to report; the app is unaffected.
  }
}

/**
 * The app's environment: the agent's, without what is the agent's alone (its
 * token, its own config), plus the configured variables.
 */
export function appEnvironment(base: NodeJS.ProcessEnv, extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...extra };
  delete env[TOKEN_ENV];
  delete env[APP_CONFIG_VAR];
  return env;
}

export function describeExit(info: ExitInfo): string {
  if (info.error !== undefined) return `could not start: ${info.error.message}`;
  if (info.signal !== null) return `killed by ${info.signal}`;
  return `exit code ${info.code}`;
}
