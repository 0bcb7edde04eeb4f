import { readFile, rename, unlink, writeFile } from 'node:fs/promises';

/**
 * The daemon's pid file: informational (`skiff daemon status`, stopping a
 * daemon that speaks another protocol), never the lock itself. Written
 * atomically so a reader sees a whole pid or none.
 */

export async function writePidFile(pidFile: string, pid: number = process.pid): Promise<void> {
  const tmp = `${pidFile}.${pid}.tmp`;
  await writeFile(tmp, `${pid}\n`, { mode: 0o600 });
  await rename(tmp, pidFile);
}

/** The pid in the file, or undefined when there is no file or no number in it. */
export async function readPidFile(pidFile: string): Promise<number | undefined> {
  try {
    return parsePid(await readFile(pidFile, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Removes the pid file only when it still names `pid`: a newer daemon's file stays. */
export async function removePidFile(pidFile: string, pid: number = process.pid): Promise<void> {
  if ((await readPidFile(pidFile)) !== pid) return;
  await unlink(pidFile).catch(() => {});
}

export function parsePid(text: string): number | undefined {
  const first = text.trim().split(/\s+/)[0] ?? '';
  if (!/^[1-9][0-9]*$/.test(first)) return undefined;
  const pid = Number(first);
  return Number.isSafeInteger(pid) ? pid : undefined;
}

/** Whether a process with this pid exists (EPERM: it exists, owned by someone else). */
export function isProcessAlive(pid: number): boolean {
  // kill(0) and kill(-n) address process groups: never what a pid file means.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
