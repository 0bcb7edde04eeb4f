import { accessSync, constants, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';

/**
 * Where the benchmark puts its trees. tmpfs keeps the disk out of the
 * comparison (DESIGN's figures are on tmpfs); when /dev/shm is missing the run
 * falls back to the system temp dir and says so, because disk figures are not
 * comparable with tmpfs ones.
 */

const TMPFS_DIR = '/dev/shm';
const RUN_DIR_PREFIX = 'skiff-bench-';

export interface Placement {
  /** The directory every tree and destination of this run lives under. */
  dir: string;
  /** Filesystem type of that directory as /proc/mounts names it (tmpfs, ext4, overlay, ...). */
  fsType: string;
  onTmpfs: boolean;
}

/** The filesystem type of the mount holding `path`: the longest mount point that prefixes it. */
export function fsTypeOf(path: string): string {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/mounts', 'utf8');
  } catch {
    return 'unknown';
  }
  const real = realpathSync(path);
  let best = { point: '', type: 'unknown' };
  for (const line of mounts.split('\n')) {
    const [, point, type] = line.split(' ');
    if (!point || !type) continue;
    const decoded = point.replace(/\\040/g, ' ');
    const covers = decoded === '/' || real === decoded || real.startsWith(decoded + sep);
    if (covers && decoded.length >= best.point.length) best = { point: decoded, type };
  }
  return best.type;
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export async function makeRunDir(): Promise<Placement> {
  const base = writable(TMPFS_DIR) && fsTypeOf(TMPFS_DIR) === 'tmpfs' ? TMPFS_DIR : tmpdir();
  const dir = await mkdtemp(join(base, RUN_DIR_PREFIX));
  const fsType = fsTypeOf(dir);
  return { dir, fsType, onTmpfs: fsType === 'tmpfs' };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}
