import { ErrorCode } from '@skiff/protocol';

/** skiff's exit statuses (README: 0 success, 1 failure, 2 usage error, 3 nothing running). */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  NOTHING_RUNNING: 3,
  /** 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C. */
  INTERRUPTED: 130,
} as const;
export type Exit = (typeof EXIT)[keyof typeof EXIT];

/** The exit status an error ends the command with. */
export function exitCodeOf(code: string): Exit {
  if (code === ErrorCode.USAGE) return EXIT.USAGE;
  if (code === ErrorCode.NO_SESSION) return EXIT.NOTHING_RUNNING;
  return EXIT.FAILURE;
}
