/** The fields of /proc/<pid>/stat that the reaper and the stop need. */
export interface ProcStat {
  pid: number;
  comm: string;
  /** One letter: R, S, D, Z (zombie), T, t, X, I, ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** Clock ticks after boot when the process started: with pid, it identifies one process across pid reuse. */
  startTime: string;
}

/** Field numbers (1-based, as in proc(5)) after the command name. */
const FIELD_STATE = 3;
const FIELD_PPID = 4;
const FIELD_PGRP = 5;
const FIELD_STARTTIME = 22;

/**
 * Parses one /proc/<pid>/stat. Pure. The command name (field 2) is in
 * parentheses and may itself contain spaces and ')' (a process can name itself
 * "a) Z 1"), so the fields after it are found from the LAST ')' on the line,
 * never by splitting the whole line.
 */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const field = (n: number): string | undefined => rest[n - FIELD_STATE];
  const state = field(FIELD_STATE);
  const ppid = Number(field(FIELD_PPID));
  const pgrp = Number(field(FIELD_PGRP));
  const startTime = field(FIELD_STARTTIME);
  if (!Number.isInteger(pid) || pid <= 0 || state === undefined || !Number.isInteger(ppid) || startTime === undefined) return null;
  return { pid, comm: text.slice(open + 1, close), state, ppid, pgrp, startTime };
}

export const ZOMBIE_STATE = 'Z';
