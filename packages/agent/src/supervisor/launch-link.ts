import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import type { ExitInfo } from './process-group.ts';

/** A line skiff-launch writes on its link (fd 3), parsed. */
export type LinkLine = { kind: 'pid'; pid: number } | { kind: 'end'; info: ExitInfo };

const SIGNAL_NAMES: ReadonlyMap<number, NodeJS.Signals> = new Map(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

const LINE = /^(pid|exit|signal) (\d{1,10})$/;

/**
 * One line of skiff-launch's link (see skiff-launch.c): "pid <n>" once the
 * command's process exists, then "exit <code>" or "signal <number>" when it
 * ended, reported as Node would have reported that process's own exit.
 * Pure. Null for anything else. A signal without a name here (none of
 * Linux's standard ones) is reported as a shell shows it: code 128 + n.
 */
export function parseLinkLine(line: string): LinkLine | null {
  const match = LINE.exec(line);
  if (match === null) return null;
  const n = Number(match[2]);
  switch (match[1]) {
    case 'pid':
      return n > 0 && n <= 0x3fffffff ? { kind: 'pid', pid: n } : null;
    case 'exit':
      return n <= 255 ? { kind: 'end', info: { code: n, signal: null } } : null;
    default: {
      if (n < 1 || n > 127) return null;
      const name = SIGNAL_NAMES.get(n);
      return { kind: 'end', info: name === undefined ? { code: 128 + n, signal: null } : { code: null, signal: name } };
    }
  }
}

/**
 * Reads a launcher's link: `pid` settles with the command's pid (undefined
 * when the launcher ended without saying), `exited` with how the command
 * ended, or, when the launcher ended without a record (killed with its group
 * before the command ended), with the launcher's own end. The link closes
 * only when the launcher is gone, so by then every line it wrote has been read.
 */
export function readLink(link: Readable, launcherExited: Promise<ExitInfo>): { pid: Promise<number | undefined>; exited: Promise<ExitInfo> } {
  let resolvePid!: (pid: number | undefined) => void;
  let resolveExit!: (info: ExitInfo) => void;
  const pid = new Promise<number | undefined>((resolve) => (resolvePid = resolve));
  const exited = new Promise<ExitInfo>((resolve) => (resolveExit = resolve));
  let text = '';
  link.setEncoding('latin1');
  link.on('data', (chunk: string) => {
    text += chunk;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      const line = parseLinkLine(text.slice(0, nl));
      text = text.slice(nl + 1);
      if (line?.kind === 'pid') resolvePid(line.pid);
      else if (line?.kind === 'end') resolveExit(line.info);
    }
  });
  link.on('error', () => undefined); // the launcher's end vanished: 'close' follows
  link.on('close', () => {
    resolvePid(undefined);
    void launcherExited.then(resolveExit);
  });
  return { pid, exited };
}
