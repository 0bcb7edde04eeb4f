import { homedir } from 'node:os';
import { SKIFF_VERSION, SkiffError, asSkiffError, ErrorCode } from '@skiff/protocol';
import { DaemonExit, DaemonMethod, type DaemonStatus } from './daemon-api.ts';
import { DaemonAlreadyRunning, acquireStartupLock, clearSocketPath } from './lock.ts';
import { LOG_LEVEL_ENV, LogLevel, parseLogLevel, streamLog, type ControlLog } from './log.ts';
import type { PeerLimits } from './peer.ts';
import { removePidFile, writePidFile } from './pid-file.ts';
import { ensureRuntimeDir, runtimePaths, type RuntimePaths } from './runtime-paths.ts';
import { startControlServer, type ControlHandlers, type ControlServer } from './server.ts';
import { CONTROL_PROTOCOL_VERSION } from './wire.ts';

/**
 * The daemon's lifecycle around the control server: take the start lock,
 * make sure no other daemon answers, listen, publish the pid, and on a
 * signal or `daemon.stop` undo all of it in reverse so that the next start
 * finds a clean directory. The methods that do real work (sessions) are
 * handlers passed in.
 */

/** Signals that stop the daemon cleanly; a second one while stopping exits at once. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export interface RunDaemonOptions {
  paths: RuntimePaths;
  handlers?: ControlHandlers;
  log?: ControlLog;
  limits?: Partial<PeerLimits>;
  /** Runs first when the daemon stops (sessions stop their agents); its failure is logged. */
  onStop?: () => Promise<void> | void;
  /**
   * The daemon owns its process: it handles SIGTERM/SIGINT and exits once a
   * signal or `daemon.stop` has stopped it. Default true; in-process tests pass false.
   */
  ownProcess?: boolean;
}

export interface RunningDaemon {
  readonly server: ControlServer;
  /** Stops serving, removes the socket and the pid file. Idempotent. */
  stop(): Promise<void>;
  /** Settles once the daemon has stopped, however it was stopped. */
  readonly stopped: Promise<void>;
}

export async function runDaemon(opts: RunDaemonOptions): Promise<RunningDaemon> {
  const { paths } = opts;
  const log = opts.log ?? (() => {});
  const ownProcess = opts.ownProcess ?? true;
  const startedAt = new Date();
  for (const name of Object.values(DaemonMethod)) {
    if (opts.handlers && Object.hasOwn(opts.handlers, name)) throw new SkiffError(ErrorCode.INTERNAL, `handler ${name} would replace a built-in daemon method`);
  }

  let server: ControlServer | undefined;
  let stopping: Promise<void> | undefined;
  let markStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log(LogLevel.INFO, 'stopping');
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
      try {
        await opts.onStop?.();
      } catch (err) {
        log(LogLevel.ERROR, `while stopping the sessions: ${asSkiffError(err).message}`);
      }
      await server?.close();
      await removePidFile(paths.pidFile);
      log(LogLevel.INFO, 'stopped');
      markStopped();
    })();
    return stopping;
  };

  /** Stops, then ends the process when the daemon owns it. Never rejects. */
  const shutdown = (why: string): void => {
    log(LogLevel.INFO, why);
    stop().then(
      () => {
        if (ownProcess) process.exit(DaemonExit.OK);
      },
      (err: unknown) => {
        log(LogLevel.ERROR, `stopping failed: ${asSkiffError(err).message}`);
        if (ownProcess) process.exit(DaemonExit.FAILURE);
      },
    );
  };

  function onSignal(signal: NodeJS.Signals): void {
    if (stopping !== undefined) {
      log(LogLevel.WARN, `${signal} while stopping; exiting now`);
      process.exit(DaemonExit.FAILURE);
    }
    shutdown(`${signal} received`);
  }

  const builtins: ControlHandlers = {
    [DaemonMethod.STATUS]: (): DaemonStatus => ({
      pid: process.pid,
      version: SKIFF_VERSION,
      protocol: CONTROL_PROTOCOL_VERSION,
      startedAt: startedAt.toISOString(),
      uptimeMs: Date.now() - startedAt.getTime(),
      clients: server?.clients() ?? 0,
      socket: paths.socketPath,
      log: paths.logFile,
    }),
    // The answer is queued before the stop begins, and closing flushes queued writes: the caller gets it.
    [DaemonMethod.STOP]: (_params, client) => {
      setImmediate(() => shutdown(`${DaemonMethod.STOP} from client ${client.id}`));
      return { stopping: true, pid: process.pid };
    },
  };

  await ensureRuntimeDir(paths);
  const lock = await acquireStartupLock(paths.lockFile);
  try {
    await clearSocketPath(paths);
    server = await startControlServer({ socketPath: paths.socketPath, handlers: { ...opts.handlers, ...builtins }, log, limits: opts.limits });
    try {
      await writePidFile(paths.pidFile);
    } catch (err) {
      await server.close();
      throw new SkiffError(ErrorCode.IO, `cannot write the pid file ${paths.pidFile}: ${(err as Error).message}`, { cause: err, path: paths.pidFile });
    }
  } finally {
    await lock.release();
  }
  if (ownProcess) for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  log(LogLevel.INFO, `skiffd ${SKIFF_VERSION} ready (pid ${process.pid}, control protocol ${CONTROL_PROTOCOL_VERSION})`);
  return { server, stop, stopped };
}

export interface DaemonProgramOptions extends Omit<RunDaemonOptions, 'paths' | 'log' | 'ownProcess'> {
  env?: NodeJS.ProcessEnv;
}

/**
 * skiffd as a program: paths from the environment, log on stderr, the
 * process owned. A daemon that finds another one running says so in one
 * line and exits with DaemonExit.ALREADY_RUNNING (quietly: it is the normal
 * end of a lost start race); other start failures exit with FAILURE.
 * Resolves with the running daemon; on failure it does not return.
 */
export async function runDaemonProgram(opts: DaemonProgramOptions = {}): Promise<RunningDaemon> {
  const env = opts.env ?? process.env;
  const log = streamLog(process.stderr, parseLogLevel(env[LOG_LEVEL_ENV]));
  try {
    const paths = runtimePaths(env, homedir());
    return await runDaemon({ ...opts, paths, log, ownProcess: true });
  } catch (err) {
    if (err instanceof DaemonAlreadyRunning) {
      log(LogLevel.INFO, `${err.message}; this one exits`);
      process.exit(DaemonExit.ALREADY_RUNNING);
    }
    const e = asSkiffError(err);
    log(LogLevel.ERROR, `cannot start: ${e.message} [${e.code}]`);
    process.exit(DaemonExit.FAILURE);
  }
}
