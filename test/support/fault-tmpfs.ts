import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Small tmpfs mounts, to fill a disk for real: ENOSPC from the kernel, short
 * writes and all, rather than an injected error. Needs the right to mount
 * (root, or CAP_SYS_ADMIN in the test's namespace); tmpfsUnavailable says why
 * not, so a test can skip with the reason.
 */
const run = promisify(execFile);

export async function mountTmpfs(dir: string, bytes: number): Promise<void> {
  await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
}

/** Grows (or shrinks) a mounted tmpfs in place; its files stay. */
export async function resizeTmpfs(dir: string, bytes: number): Promise<void> {
  await run('mount', ['-o', `remount,size=${bytes}`, dir]);
}

/** Unmounts; lazily when something still holds it, so a failed test does not leave a mount behind. */
export async function unmountTmpfs(dir: string): Promise<void> {
  try {
    await run('umount', [dir]);
  } catch {
    await run('umount', ['-l', dir]).catch(() => undefined);
  }
}

/** Null when a tmpfs can be mounted here, else the reason it cannot. */
export async function tmpfsUnavailable(): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-tmpfs-probe-'));
  try {
    await mountTmpfs(dir, 1024 * 1024);
    await unmountTmpfs(dir);
    return null;
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    return `mounting a tmpfs is not permitted here (${detail})`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
