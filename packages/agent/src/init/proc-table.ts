import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseProcStat, type ProcStat } from './proc-stat.ts';

const PID_DIR = /^[1-9][0-9]*$/;

/**
 * Every process visible in /proc, optionally filtered. Synchronous on
 * purpose: a few dozen small reads in a container, done in one go so that no
 * other callback runs (and spawns or reaps) halfway through.
 */
export function readProcTable(procRoot = '/proc', keep: (stat: ProcStat) => boolean = () => true): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!PID_DIR.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(join(procRoot, name, 'stat'), 'utf8');
    } catch {
      continue; // exited (and was reaped) between readdir and read
    }
    const stat = parseProcStat(text);
    if (stat !== null && keep(stat)) out.push(stat);
  }
  return out;
}
