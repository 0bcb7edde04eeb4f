import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';
import { versionLine } from './proc.ts';

/** What the figures were measured on and with, recorded next to them. */

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** 1-minute load average when the run started: a busy machine explains slow figures. */
  loadAverage: number;
}

export interface Versions {
  skiff: string;
  commit: string;
  rsync: string;
  tar: string;
}

export function machine(): Machine {
  const list = cpus();
  let load = Number.NaN;
  try {
    load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    // not Linux
  }
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    loadAverage: load,
  };
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${head} (packages/ has uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

export async function versions(): Promise<Versions> {
  let skiff = 'unknown';
  try {
    skiff = (JSON.parse(readFileSync(join(REPO_ROOT, 'packages/daemon/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // reported as unknown
  }
  return { skiff, commit: gitCommit(), rsync: await versionLine('rsync'), tar: await versionLine('tar') };
}
