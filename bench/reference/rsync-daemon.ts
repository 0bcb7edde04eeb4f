import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { track } from '../cleanup.ts';
import { freePort, waitForPort } from '../ports.ts';
import { runTimed, waitExit } from '../proc.ts';

/**
 * The reference transfer: an rsync daemon on loopback holding one writable
 * module at the destination, and `rsync -a SRC/ rsync://127.0.0.1:PORT/mod/`
 * against it. That is rsync's fastest network path (no ssh), the same shape
 * as skiff's daemon talking to an agent over a socket.
 */

const MODULE = 'mod';
const DAEMON_START_TIMEOUT_MS = 10_000;
/**
 * skiff never sends its own state dir; the reference must not either. And
 * mtimes are compared to the nanosecond: with rsync's default (whole
 * seconds), a file rewritten at the same size within the second of its last
 * sync is skipped, which a benchmark that saves quickly hits at once.
 */
export const RSYNC_OPTIONS = ['--exclude=/.skiff/', '--modify-window=-1'];

export interface RsyncDaemon {
  port: number;
  /** The module's URL, for runs with options of their own. */
  url: string;
  /** Runs one `rsync -a` of `src` into the module; resolves with its wall time in ms. */
  push(src: string): Promise<number>;
  stop(): Promise<void>;
}

function config(dest: string, logFile: string): string {
  return [
    `log file = ${logFile}`,
    'use chroot = no',
    // Without chroot rsync would rewrite symlink targets; the reference copies them as they are.
    'munge symlinks = no',
    `[${MODULE}]`,
    `  path = ${dest}`,
    '  read only = no',
    '  uid = root',
    '  gid = root',
    '',
  ].join('\n');
}

export async function startRsyncDaemon(dest: string, workDir: string): Promise<RsyncDaemon> {
  const port = await freePort();
  const dir = join(workDir, `rsyncd-${port}`);
  await mkdir(dir, { recursive: true });
  await mkdir(dest, { recursive: true });
  const conf = join(dir, 'rsyncd.conf');
  await writeFile(conf, config(dest, join(dir, 'rsyncd.log')));
  const child = spawn('rsync', ['--daemon', '--no-detach', `--config=${conf}`, `--port=${port}`, '--address=127.0.0.1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  track(child);
  let stderr = '';
  let exited: string | null = null;
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('error', (err) => (exited = `rsync --daemon could not start: ${err.message}`));
  child.on('exit', (code, signal) => (exited ??= `rsync --daemon exited (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await waitExit(child);
  };
  try {
    await waitForPort(port, DAEMON_START_TIMEOUT_MS, () => exited);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `rsync://127.0.0.1:${port}/${MODULE}/`;
  return {
    port,
    url,
    push: async (src) => (await runTimed('rsync', ['-a', ...RSYNC_OPTIONS, `${src}/`, url])).ms,
    stop,
  };
}

/** Runs `fn` with a daemon on `dest`, and stops the daemon whatever happens. */
export async function withRsyncDaemon<T>(dest: string, workDir: string, fn: (daemon: RsyncDaemon) => Promise<T>): Promise<T> {
  const daemon = await startRsyncDaemon(dest, workDir);
  try {
    return await fn(daemon);
  } finally {
    await daemon.stop();
  }
}
