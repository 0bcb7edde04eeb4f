import { ErrorCode, SkiffError, type Problem } from '@skiff/protocol';
import { errnoOf } from './fs-ops.ts';

/** errno codes that have a code of their own; every other failure is SKIFF_E_IO. */
const ERRNO_CODES: Readonly<Record<string, ErrorCode>> = {
  ENOSPC: ErrorCode.DISK_FULL,
  EDQUOT: ErrorCode.DISK_FULL,
  // Only O_NOFOLLOW raises it here: something swapped a symlink in under us.
  ELOOP: ErrorCode.SYMLINK_ESCAPE,
};

/**
 * Turns what the filesystem threw while applying one path into the problem the
 * daemon sees for that path. A full disk gets its own code because the daemon
 * and the person react differently (free space, then retry) from any other
 * I/O failure.
 */
export function ioError(err: unknown, path: string, action: string): SkiffError {
  if (err instanceof SkiffError) return err;
  const code = ERRNO_CODES[errnoOf(err) ?? ''] ?? ErrorCode.IO;
  const detail = err instanceof Error ? err.message : String(err);
  const message =
    code === ErrorCode.DISK_FULL
      ? `no space left on the agent's disk to ${action} ${path}; the previous version is kept (${detail})`
      : `could not ${action} ${path}: ${detail}`;
  return new SkiffError(code, message, { cause: err, path });
}

export function toProblem(err: unknown, path: string, action: string): Problem {
  const e = ioError(err, path, action);
  return { path, code: e.code, message: e.message };
}
