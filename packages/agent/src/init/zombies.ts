import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseProcStat, ZOMBIE_STATE, type ProcStat } from './proc-stat.ts';

const PID_DIR = /^[1-9][0-9]*$/;

/**
 * Our children that are zombies, from /proc. Synchronous on purpose: the scan
 * is a few dozen small reads in a container, and doing it in one go means no
 * other callback runs (and spawns or reaps) halfway through it.
 *
 * Why /proc and not /proc/<pid>/task/<tid>/children: that file exists only
 * with CONFIG_PROC_CHILDREN (absent on some kernels, e.g. the one these tests
 * were measured on) and is per thread.
 */
export function listZombieChildren(ppid: number, procRoot = '/proc'): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const zombies: ProcStat[] = [];
  for (const name of names) {
    if (!PID_DIR.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(join(procRoot, name, 'stat'), 'utf8');
    } catch {
      continue; // exited (and was reaped) between readdir and read
    }
    const stat = parseProcStat(text);
    if (stat !== null && stat.ppid === ppid && stat.state === ZOMBIE_STATE) zombies.push(stat);
  }
  return zombies;
}
