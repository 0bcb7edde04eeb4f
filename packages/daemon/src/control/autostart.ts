import { closeSync, openSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { ControlConnectError, connectControl, isDaemonNotRunning, type ControlConnection } from './client.ts';
import { DaemonExit } from './daemon-api.ts';
import { RUNTIME_DIR_ENV, ensureRuntimeDir, type RuntimePaths } from './runtime-paths.ts';
import { sleep } from './sleep.ts';

/**
 * Starting the daemon from the CLI when none answers. The daemon is spawned
 * detached (its own session, no terminal, the CLI may exit at once) with its
 * output appended to skiffd.log, then the CLI connects again until it
 * answers or the deadline passes.
 *
 * Two CLIs may do this at the same moment: both spawn, the startup lock lets
 * one daemon win, the other exits with DaemonExit.ALREADY_RUNNING, and both
 * CLIs keep connecting until they reach the winner.
 */

/** How long a CLI waits for a daemon it started to answer. */
export const AUTOSTART_TIMEOUT_MS = 5_000;
/** Pauses between connection attempts while the daemon starts; the last repeats. */
export const AUTOSTART_BACKOFF_MS = [10, 20, 40, 80, 150, 250] as const;
/** Lines of skiffd.log quoted when the daemon did not come up. */
export const LOG_TAIL_LINES = 20;
/** Bytes read from the end of skiffd.log to find those lines. */
export const LOG_TAIL_BYTES = 64 * 1024;

export interface DaemonCommand {
  command: string;
  args: string[];
  /** Default: the runtime directory (a daemon must not pin the CLI's working directory). */
  cwd?: string;
  /** Added to the CLI's environment; SKIFF_RUNTIME_DIR is always set to the paths' directory. */
  env?: NodeJS.ProcessEnv;
}

export interface EnsureDaemonOptions {
  paths: RuntimePaths;
  daemonCommand: DaemonCommand;
  timeoutMs?: number;
  version?: string;
  protocol?: number;
}

export interface EnsuredDaemon {
  connection: ControlConnection;
  /** The pid of the daemon this call spawned, when it spawned one (it may have lost the race). */
  spawnedPid?: number;
}

export async function ensureDaemon(opts: EnsureDaemonOptions): Promise<EnsuredDaemon> {
  const connectOpts = { socketPath: opts.paths.socketPath, version: opts.version, protocol: opts.protocol };
  try {
    return { connection: await connectControl(connectOpts) };
  } catch (err) {
    if (!isDaemonNotRunning(err)) throw err;
  }
  const timeoutMs = opts.timeoutMs ?? AUTOSTART_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const child = await spawnDaemon(opts.paths, opts.daemonCommand);
  let lastError: unknown;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    await sleep(Math.min(AUTOSTART_BACKOFF_MS[Math.min(attempt, AUTOSTART_BACKOFF_MS.length - 1)], Math.max(0, deadline - Date.now())));
    try {
      return { connection: await connectControl(connectOpts), spawnedPid: child.pid };
    } catch (err) {
      if (!isRetryable(err)) throw err;
      lastError = err;
    }
    const failure = child.failure();
    if (failure !== undefined) {
      throw new SkiffError(ErrorCode.CONNECTION_LOST, `skiffd ${failure}${await logTailNote(opts.paths.logFile, child.logOffset)}`, { cause: lastError, path: opts.paths.logFile });
    }
  }
  throw new SkiffError(
    ErrorCode.TIMEOUT,
    `skiffd did not answer on ${opts.paths.socketPath} within ${timeoutMs} ms of being started${await logTailNote(opts.paths.logFile, child.logOffset)}`,
    { cause: lastError, path: opts.paths.logFile },
  );
}

/** Not there yet, or there but still starting or stopping: worth another attempt. */
function isRetryable(err: unknown): boolean {
  return err instanceof ControlConnectError && (err.notRunning || err.code === ErrorCode.CONNECTION_LOST || err.code === ErrorCode.TIMEOUT);
}

interface SpawnedDaemon {
  pid: number | undefined;
  /** Where skiffd.log ended before the spawn: what follows is this daemon's. */
  logOffset: number;
  /** Why the daemon cannot come up, once that is known; undefined while it may. */
  failure(): string | undefined;
}

async function spawnDaemon(paths: RuntimePaths, cmd: DaemonCommand): Promise<SpawnedDaemon> {
  // Loaded here, not at the top: every skiff command loads this file, few start a daemon.
  const { spawn } = await import('node:child_process');
  await ensureRuntimeDir(paths);
  const logOffset = await stat(paths.logFile).then((s) => s.size, () => 0);
  let logFd: number;
  try {
    logFd = openSync(paths.logFile, 'a', 0o600);
  } catch (err) {
    throw new SkiffError(ErrorCode.IO, `cannot open the daemon log ${paths.logFile}: ${(err as Error).message}`, { cause: err, path: paths.logFile });
  }
  let failure: string | undefined;
  try {
    const child = spawn(cmd.command, cmd.args, {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      cwd: cmd.cwd ?? paths.dir,
      env: { ...process.env, ...cmd.env, [RUNTIME_DIR_ENV]: paths.dir },
    });
    child.on('error', (err) => (failure = `could not be started (${cmd.command}: ${err.message})`));
    // Losing the start race (ALREADY_RUNNING) or exiting cleanly leaves another daemon to reach.
    child.on('exit', (code, signal) => {
      if (code === DaemonExit.OK || code === DaemonExit.ALREADY_RUNNING) return;
      failure = `exited during its start (${signal ?? `exit status ${code}`})`;
    });
    child.unref();
    return { pid: child.pid, logOffset, failure: () => failure };
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(logFd);
  }
}

/** The end of what the daemon wrote to its log since logOffset, as a note for an error message. */
async function logTailNote(logFile: string, logOffset: number): Promise<string> {
  const text = await readFrom(logFile, logOffset);
  const lines = tailLines(text, LOG_TAIL_LINES);
  if (lines.length === 0) return `; its log ${logFile} has nothing from this start`;
  return `; the end of its log ${logFile}:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

async function readFrom(file: string, offset: number): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    const start = Math.max(offset, size - LOG_TAIL_BYTES);
    const length = Math.max(0, size - start);
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, start);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    await handle?.close();
  }
}

/** The last `n` non-empty lines of a text. Pure. */
export function tailLines(text: string, n: number): string[] {
  if (n <= 0) return [];
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '')
    .slice(-n);
}
