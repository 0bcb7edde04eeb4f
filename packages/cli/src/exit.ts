import { constants } from 'node:os';
import { ErrorCode } from '@skiff/protocol';

/** skiff's exit statuses (README: 0 success, 1 failure, 2 usage error, 3 nothing running). */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  NOTHING_RUNNING: 3,
} as const;
export type Exit = (typeof EXIT)[keyof typeof EXIT];

/** A command stopped by a signal exits 128 + its number, as a shell reports it: 130 for Ctrl-C. */
const SIGNAL_EXIT_BASE = 128;

export function exitForSignal(signal: NodeJS.Signals): number {
  return SIGNAL_EXIT_BASE + constants.signals[signal];
}

export function isSignalExit(code: number): boolean {
  return code > SIGNAL_EXIT_BASE;
}

/** The exit status an error ends the command with. */
export function exitCodeOf(code: string): Exit {
  if (code === ErrorCode.USAGE) return EXIT.USAGE;
  if (code === ErrorCode.NO_SESSION) return EXIT.NOTHING_RUNNING;
  return EXIT.FAILURE;
}
