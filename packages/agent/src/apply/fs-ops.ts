import * as nodeFs from 'node:fs';

/**
 * The synchronous filesystem calls the apply step makes. Passed in rather than
 * imported so that unit tests can inject faults (a disk that fills up halfway,
 * a permission error) into an otherwise real tree.
 *
 * Synchronous on purpose: a first sync writes tens of thousands of small files
 * and an async call per file costs a thread-pool round trip per step; on the
 * local disk or tmpfs these calls return in microseconds.
 */
export type FsOps = Pick<
  typeof nodeFs,
  | 'openSync'
  | 'writeSync'
  | 'fchmodSync'
  | 'futimesSync'
  | 'closeSync'
  | 'renameSync'
  | 'unlinkSync'
  | 'lstatSync'
  | 'mkdirSync'
  | 'chmodSync'
  | 'symlinkSync'
  | 'lutimesSync'
  | 'rmSync'
  | 'readdirSync'
  | 'linkSync'
  | 'readSync'
  | 'ftruncateSync'
  | 'fstatSync'
  | 'constants'
>;

export const realFs: FsOps = nodeFs;

/** Open flags of a temporary file: created fresh, never through a symlink. */
export const TEMP_OPEN_FLAGS =
  nodeFs.constants.O_WRONLY | nodeFs.constants.O_CREAT | nodeFs.constants.O_EXCL | nodeFs.constants.O_NOFOLLOW;
/** Mode of a temporary file until its final mode is set: nobody else reads a partial file. */
export const TEMP_FILE_MODE = 0o600;
/** Open flags of a file created at its real name inside a stage (stage.ts): fresh, never through a symlink. */
export const STAGED_OPEN_FLAGS = TEMP_OPEN_FLAGS;

/**
 * The process's umask, read once: a file created with a mode the umask does
 * not cut needs no fchmod afterwards. null where it cannot be read (a worker
 * thread): then every mode is set explicitly.
 */
export const PROCESS_UMASK: number | null = readUmask();

function readUmask(): number | null {
  try {
    // Without an argument Node sets the mask to 0 and back (hence its DEP0139): harmless
    // here, once at import on the main thread, before the agent creates any file.
    return process.umask();
  } catch {
    return null;
  }
}

/** Whether a file created with `mode` already has exactly that mode (the umask cuts none of its bits). */
export function createdWithMode(mode: number): boolean {
  return PROCESS_UMASK !== null && (mode & PROCESS_UMASK) === 0;
}

export function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
