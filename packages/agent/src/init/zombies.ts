import { ZOMBIE_STATE, type ProcStat } from './proc-stat.ts';
import { readProcTable } from './proc-table.ts';

/**
 * Our children that are zombies, from /proc.
 *
 * Why every /proc/<pid>/stat and not /proc/<pid>/task/<tid>/children: that file exists
 * only with CONFIG_PROC_CHILDREN (absent on some kernels, e.g. the one these
 * tests were measured on) and is per thread.
 */
export function listZombieChildren(ppid: number, procRoot = '/proc'): ProcStat[] {
  return readProcTable(procRoot, (stat) => stat.ppid === ppid && stat.state === ZOMBIE_STATE);
}
