import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Running reference commands and reading a process's footprint from /proc.
 * Every command is timed from just before spawn to its exit, so reference
 * figures include their own process start, as a user running them would see.
 */

/** Output kept from a failed command to explain it. */
const OUTPUT_TAIL_CHARS = 2000;

export interface CommandResult {
  ms: number;
  stdout: string;
  stderr: string;
}

export function runTimed(command: string, args: string[], opts: SpawnOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-OUTPUT_TAIL_CHARS)));
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-OUTPUT_TAIL_CHARS)));
    child.on('error', (err) => reject(new Error(`${command} could not start: ${err.message}`, { cause: err })));
    child.on('close', (code, signal) => {
      const ms = performance.now() - started;
      if (code === 0) resolve({ ms, stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || stdout.trim()}`));
    });
  });
}

/** First line of `command --version`, or what went wrong. */
export async function versionLine(command: string): Promise<string> {
  try {
    const { stdout } = await runTimed(command, ['--version']);
    return stdout.split('\n')[0].replace(/\s+/g, ' ').trim();
  } catch (err) {
    return `unavailable: ${(err as Error).message.split('\n')[0]}`;
  }
}

export function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

const KIB_PER_MIB = 1024;

/** VmRSS and VmHWM (peak) of a live process, in MiB. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: kib('VmRSS') / KIB_PER_MIB, peakMiB: kib('VmHWM') / KIB_PER_MIB };
}

/** inotify watches a process holds: one "inotify wd:" line per watch in the fdinfo of its inotify descriptors. */
export function inotifyWatchesOf(pid: number): number {
  let count = 0;
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed between readdir and read
    }
    for (const line of info.split('\n')) if (line.startsWith('inotify wd:')) count++;
  }
  return count;
}
