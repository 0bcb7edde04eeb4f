import { readdirSync, readFileSync } from 'node:fs';

/**
 * A container's processes seen from the host's /proc (the tests run as root
 * in the engine's PID namespace): state and parent, which `docker top` does
 * not give for zombies reliably, and each process's pid inside the container.
 */
export interface HostProc {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
  /** The pid as the container sees it (last NSpid field). */
  nsPid: number;
}

function readProc(pid: number): HostProc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    const nsLine = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('NSpid:'));
    const nsPids = nsLine ? nsLine.slice('NSpid:'.length).trim().split(/\s+/).map(Number) : [pid];
    return { pid, ppid: Number(ppid), state, comm: stat.slice(stat.indexOf('(') + 1, close), nsPid: nsPids[nsPids.length - 1] };
  } catch {
    // Gone meanwhile.
    return null;
  }
}

function allProcs(): HostProc[] {
  const out: HostProc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const proc = readProc(Number(name));
    if (proc) out.push(proc);
  }
  return out;
}

/** Every process below host pid `pid`, with its state. */
export function descendants(pid: number): HostProc[] {
  const all = allProcs();
  const found: HostProc[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const p of all) {
      if (p.ppid === parent) {
        found.push(p);
        queue.push(p.pid);
      }
    }
  }
  return found;
}

/** The process's NUL-separated command line. */
export function hostCmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

/** The process's environment as NAME=value strings. */
export function hostEnviron(pid: number): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((s) => s !== '');
}

/** True while host pid `pid` exists (alive or zombie). */
export function procExists(pid: number): boolean {
  return readProc(pid) !== null;
}
