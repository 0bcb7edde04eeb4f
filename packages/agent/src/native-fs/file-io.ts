import { getSystemErrorMap } from 'node:util';
import { loadAddon } from './load-addon.ts';

/*
 * Whole small files written and read in one call into the native addon
 * (native/reaper.c: writeNewFile, readFileInto) instead of four or three
 * calls into Node's fs, each with its own argument checks and, on the way
 * back, its own error object machinery. Measured on the first sync of
 * 50,000 files: the agent spent 490 ms in openSync, writeSync, futimesSync
 * and closeSync around system calls that take about 250 ms in C. The
 * agent writes a staged first sync this way (apply/temp-file.ts) and the
 * daemon reads the small files it sends; without the addon both use Node's
 * calls as before.
 */

interface FileIoAddon {
  writeNewFile(path: string, data: Uint8Array, mode: number, chmod: boolean, mtimeSeconds: number): number;
  readFileInto(path: string, buffer: Uint8Array): number;
  packFile?(root: string, path: string, message: Uint8Array, at: number, batch: number, mode: number, mtime: number, expected: number, out: Float64Array): number;
}

/** What packFile answers besides an offset or a failure (native/pack-file.c). */
export const PackResult = {
  /** The file has grown past one chunk since the scan: it goes as a large file. */
  LARGE: -1,
  /** A path or mtime the addon's header layout does not cover: the file goes the usual way. */
  NOT_PLAIN: -2,
} as const;
export type PackResult = (typeof PackResult)[keyof typeof PackResult];

/** Fields of packFile's `out`. */
export const PackOut = { SIZE: 0, HASH_AT: 1, LINE_HI: 2, LINE_LO: 3 } as const;

export interface NativeFileIo {
  /**
   * Creates `path` (never through a symlink, never over anything), writes
   * `data`, sets the mode when `chmod` (the umask cut a bit of it) and the
   * mtime, closes. Throws what Node's calls would have (an Error with code,
   * errno and syscall); after a failure past the open the file is removed.
   */
  writeNewFile(path: string, data: Uint8Array, mode: number, chmod: boolean, mtimeSeconds: number): void;
  /** Reads `path` into `buffer` until its end or the buffer's; returns the bytes read (buffer.length: maybe longer). Throws as Node's calls would. */
  readFileInto(path: string, buffer: Uint8Array): number;
  /**
   * Reads root/path into `message` at `at` as a whole FILE frame, hashed
   * (native/pack-file.c); returns the offset after it, PackResult.LARGE or
   * PackResult.NOT_PLAIN, and fills `out` (PackOut). Throws as Node's calls
   * would for a file that cannot be read. null in an addon built before it.
   */
  packFile: ((root: string, path: string, message: Uint8Array, at: number, batch: number, mode: number, mtime: number, expected: number, out: Float64Array) => number) | null;
}

/** The system calls the addon names in a failure, by step (reaper.c STEP_*). */
const STEPS = ['', 'open', 'write', 'fchmod', 'futime', 'close', 'read'];

/** A failure the addon returned, -(errno * 8 + step), as the error Node's fs would have thrown. */
export function addonFailure(result: number, path: string): NodeJS.ErrnoException {
  const errno = Math.floor(-result / 8);
  const syscall = STEPS[-result % 8] ?? 'unknown';
  const [code, description] = getSystemErrorMap().get(-errno) ?? [`Unknown system error ${errno}`, 'unknown error'];
  const err: NodeJS.ErrnoException = new Error(`${code}: ${description}, ${syscall} '${path}'`);
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  err.path = path;
  return err;
}

/** The addon's file calls from the first candidate that has them; null without one (the caller uses Node's calls). */
export function loadFileIo(candidates: readonly string[]): NativeFileIo | null {
  const addon = loadAddon<FileIoAddon>(candidates, (a) => typeof a.writeNewFile === 'function' && typeof a.readFileInto === 'function');
  if (addon === null) return null;
  const write = addon.writeNewFile.bind(addon);
  const read = addon.readFileInto.bind(addon);
  const pack = addon.packFile?.bind(addon);
  return {
    writeNewFile(file, data, mode, chmod, mtimeSeconds) {
      const result = write(file, data, mode, chmod, mtimeSeconds);
      if (result !== 0) throw addonFailure(result, file);
    },
    readFileInto(file, buffer) {
      const result = read(file, buffer);
      if (result < 0) throw addonFailure(result, file);
      return result;
    },
    packFile:
      pack === undefined
        ? null
        : (root, path, message, at, batch, mode, mtime, expected, out) => {
            const result = pack(root, path, message, at, batch, mode, mtime, expected, out);
            if (result < PackResult.NOT_PLAIN) throw addonFailure(result, `${root}/${path}`);
            return result;
          },
  };
}
