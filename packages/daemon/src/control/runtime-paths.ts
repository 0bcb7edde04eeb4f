import { chmod, lstat, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';

/**
 * Where the daemon keeps its socket, pid file and log: one private directory
 * per user. The socket is the daemon's whole API, so whoever can open it acts
 * as the user; the directory is therefore 0700 and owned by the user, and we
 * refuse to use one that is not rather than widen what others can reach.
 */

/** Overrides the whole directory (tests, unusual setups). */
export const RUNTIME_DIR_ENV = 'SKIFF_RUNTIME_DIR';
/** Set by the session manager on Linux; private to the user and cleared at logout. */
export const XDG_RUNTIME_DIR_ENV = 'XDG_RUNTIME_DIR';

export const RuntimeFile = {
  SOCKET: 'skiffd.sock',
  PID: 'skiffd.pid',
  LOG: 'skiffd.log',
  /** Held only while a daemon starts: serialises "is one running? then listen". */
  LOCK: 'skiffd.lock',
} as const;
export type RuntimeFile = (typeof RuntimeFile)[keyof typeof RuntimeFile];

/** The directory's mode: the user only. */
export const RUNTIME_DIR_MODE = 0o700;
/** The socket's mode, applied right after listen. */
export const SOCKET_MODE = 0o600;
/**
 * sun_path is 108 bytes on Linux and 104 on macOS, including the NUL; a longer
 * path fails at listen with an obscure error, so we refuse it up front.
 */
export const MAX_SOCKET_PATH_BYTES = 103;

export interface RuntimePaths {
  dir: string;
  socketPath: string;
  pidFile: string;
  logFile: string;
  lockFile: string;
}

/**
 * The runtime paths for an environment: $SKIFF_RUNTIME_DIR, else
 * $XDG_RUNTIME_DIR/skiff, else ~/.skiff/run. Pure: no disk access.
 */
export function runtimePaths(env: Readonly<Record<string, string | undefined>>, homedir: string): RuntimePaths {
  const override = env[RUNTIME_DIR_ENV];
  const xdg = env[XDG_RUNTIME_DIR_ENV];
  let dir: string;
  if (override) {
    if (!isAbsolute(override)) {
      throw new SkiffError(ErrorCode.CONFIG, `${RUNTIME_DIR_ENV} must be an absolute path, got ${JSON.stringify(override)}`);
    }
    dir = override;
  } else if (xdg && isAbsolute(xdg)) {
    // The XDG spec says a relative XDG_RUNTIME_DIR is invalid and must be ignored.
    dir = join(xdg, 'skiff');
  } else {
    dir = join(homedir, '.skiff', 'run');
  }
  const socketPath = join(dir, RuntimeFile.SOCKET);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new SkiffError(
      ErrorCode.CONFIG,
      `the control socket path ${socketPath} is longer than a Unix socket allows (${MAX_SOCKET_PATH_BYTES} bytes); set ${RUNTIME_DIR_ENV} to a shorter directory`,
    );
  }
  return {
    dir,
    socketPath,
    pidFile: join(dir, RuntimeFile.PID),
    logFile: join(dir, RuntimeFile.LOG),
    lockFile: join(dir, RuntimeFile.LOCK),
  };
}

/**
 * Creates the runtime directory with mode 0700 or checks the existing one.
 * A directory we create is chmodded explicitly (the umask may have narrowed
 * or, on odd systems, not applied the mode); one that already exists must be
 * a real directory, owned by this user, with no group or other bits.
 */
export async function ensureRuntimeDir(paths: Pick<RuntimePaths, 'dir'>): Promise<void> {
  const { dir } = paths;
  try {
    await mkdir(dirname(dir), { recursive: true, mode: RUNTIME_DIR_MODE });
    await mkdir(dir, { mode: RUNTIME_DIR_MODE });
    await chmod(dir, RUNTIME_DIR_MODE);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new SkiffError(ErrorCode.IO, `cannot create the runtime directory ${dir}: ${(err as Error).message}`, { cause: err, path: dir });
    }
  }
  const st = await lstat(dir).catch((err: unknown) => {
    throw new SkiffError(ErrorCode.IO, `cannot inspect the runtime directory ${dir}: ${(err as Error).message}`, { cause: err, path: dir });
  });
  const found = runtimeDirProblem({ isDirectory: st.isDirectory(), isSymlink: st.isSymbolicLink(), uid: st.uid, mode: st.mode }, process.getuid?.());
  if (found !== undefined) {
    throw new SkiffError(
      ErrorCode.CONFIG,
      `the runtime directory ${dir} ${found.problem}; the daemon's control socket would live there, open to whoever can reach it. ${found.fix(dir)}, or set ${RUNTIME_DIR_ENV} to another directory`,
      { path: dir },
    );
  }
}

/** Why an existing runtime directory is unsafe and how to fix it; undefined when it is fine. Pure. */
export function runtimeDirProblem(
  st: { isDirectory: boolean; isSymlink: boolean; uid: number; mode: number },
  uid: number | undefined,
): { problem: string; fix: (dir: string) => string } | undefined {
  if (st.isSymlink) return { problem: 'is a symbolic link', fix: (d) => `Remove the link ${d} (skiff creates the directory itself)` };
  if (!st.isDirectory) return { problem: 'is not a directory', fix: (d) => `Remove ${d}` };
  if (uid !== undefined && st.uid !== uid) {
    return { problem: `belongs to another user (uid ${st.uid}, you are ${uid})`, fix: (d) => `Remove ${d}` };
  }
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    return { problem: `is open to other users (mode ${mode}, it must be 0700)`, fix: (d) => `Run \`chmod 700 ${d}\`` };
  }
  return undefined;
}
