import { randomBytes } from 'node:crypto';
import { link, lstat, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { ControlConnectError, connectControl } from './client.ts';
import { isProcessAlive, parsePid, readPidFile } from './pid-file.ts';
import type { RuntimePaths } from './runtime-paths.ts';

/**
 * One daemon per user. The socket path is the daemon's identity: whoever
 * listens there is "the" skiffd. Deciding that takes three steps (is someone
 * answering? if not, remove the dead socket; listen), and two daemons
 * starting at once could both find the socket dead and both remove and
 * re-create it, the first one ending unreachable. So the steps run under a
 * startup lock: a file created with O_EXCL, held only for the few
 * milliseconds of the start and removed right after.
 *
 * A daemon killed while holding the lock leaves the file behind; it is
 * broken when its pid is gone or it is older than LOCK_STALE_MS (no start
 * takes that long; pids get reused). Breaking renames the file aside first
 * and checks that what moved is the stale lock that was judged, so two
 * processes breaking the same stale lock cannot remove a fresh one.
 */

/** Longest a daemon waits for another one's start to finish. */
export const LOCK_WAIT_MS = 15_000;
/** A lock older than this is stale whatever its pid says. */
export const LOCK_STALE_MS = 10_000;
/** Pauses between attempts to take the lock; the last repeats. */
export const LOCK_RETRY_MS = [5, 10, 20, 50, 100] as const;
/** How long an existing socket has to answer hello before it counts as unresponsive. */
export const PROBE_TIMEOUT_MS = 2_000;

/** Refusal to start because a daemon already answers on the socket. */
export class DaemonAlreadyRunning extends SkiffError {
  readonly pid: number | undefined;
  readonly socketPath: string;
  constructor(pid: number | undefined, socketPath: string) {
    super(ErrorCode.DAEMON_RUNNING, `skiffd already runs (pid ${pid ?? 'unknown'}, socket ${socketPath})`, { path: socketPath });
    this.name = 'DaemonAlreadyRunning';
    this.pid = pid;
    this.socketPath = socketPath;
  }
}

export interface StartupLock {
  release(): Promise<void>;
}

export async function acquireStartupLock(lockFile: string, waitMs: number = LOCK_WAIT_MS): Promise<StartupLock> {
  const content = `${process.pid}\n${randomBytes(8).toString('hex')}\n`;
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(lockFile, content, { flag: 'wx', mode: 0o600 });
      return { release: () => releaseLock(lockFile, content) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SkiffError(ErrorCode.IO, `cannot create the startup lock ${lockFile}: ${(err as Error).message}`, { cause: err, path: lockFile });
      }
    }
    const holder = await readLock(lockFile);
    if (holder === undefined) continue; // released between our attempt and the read
    if (isStale(holder, Date.now())) {
      await breakLock(lockFile, holder.content);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new SkiffError(
        ErrorCode.TIMEOUT,
        `another skiffd (pid ${holder.pid ?? 'unknown'}) has been starting for over ${waitMs} ms; if none is, remove ${lockFile}`,
        { path: lockFile },
      );
    }
    await sleep(LOCK_RETRY_MS[Math.min(attempt, LOCK_RETRY_MS.length - 1)]);
  }
}

interface LockHolder {
  content: string;
  pid: number | undefined;
  mtimeMs: number;
}

async function readLock(lockFile: string): Promise<LockHolder | undefined> {
  try {
    const [content, st] = await Promise.all([readFile(lockFile, 'utf8'), stat(lockFile)]);
    return { content, pid: parsePid(content), mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** A lock without a readable pid may be mid-write (O_EXCL creates it empty): only its age breaks it. */
function isStale(holder: LockHolder, now: number): boolean {
  if (now - holder.mtimeMs > LOCK_STALE_MS) return true;
  return holder.pid !== undefined && !isProcessAlive(holder.pid);
}

async function breakLock(lockFile: string, judged: string): Promise<void> {
  const aside = `${lockFile}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockFile, aside);
  } catch {
    return; // someone else moved it first
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  if (moved !== judged) {
    // We moved a lock taken since we looked: put it back. link() fails when yet
    // another lock exists by now, where rename() would silently replace it.
    await link(aside, lockFile).catch(() => {});
  }
  await unlink(aside).catch(() => {});
}

async function releaseLock(lockFile: string, content: string): Promise<void> {
  const now = await readFile(lockFile, 'utf8').catch(() => undefined);
  if (now === content) await unlink(lockFile).catch(() => {});
}

export const SocketState = {
  /** A daemon answered hello (possibly refusing our protocol: it still runs). */
  RUNNING: 'running',
  /** The file exists but nothing listens: a daemon died without cleaning up. */
  STALE: 'stale',
  ABSENT: 'absent',
  /** Something accepted the connection but did not complete hello in time. */
  UNRESPONSIVE: 'unresponsive',
} as const;
export type SocketState = (typeof SocketState)[keyof typeof SocketState];

export type SocketProbe =
  | { state: typeof SocketState.RUNNING; pid: number | undefined }
  | { state: typeof SocketState.STALE | typeof SocketState.ABSENT }
  | { state: typeof SocketState.UNRESPONSIVE; why: string };

export async function probeSocket(paths: Pick<RuntimePaths, 'socketPath' | 'pidFile'>, timeoutMs: number = PROBE_TIMEOUT_MS): Promise<SocketProbe> {
  try {
    const conn = await connectControl({ socketPath: paths.socketPath, helloTimeoutMs: timeoutMs });
    const pid = conn.daemon.pid;
    await conn.close();
    return { state: SocketState.RUNNING, pid };
  } catch (err) {
    if (err instanceof SkiffError && err.code === ErrorCode.PROTOCOL_VERSION) {
      return { state: SocketState.RUNNING, pid: await readPidFile(paths.pidFile) };
    }
    if (err instanceof ControlConnectError && err.notRunning) {
      const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code;
      return { state: errno === 'ENOENT' ? SocketState.ABSENT : SocketState.STALE };
    }
    return { state: SocketState.UNRESPONSIVE, why: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Makes the socket path free for this daemon, or refuses: a daemon answers
 * there (DaemonAlreadyRunning), something holds it without answering, or it
 * is not a socket. Call it holding the startup lock.
 */
export async function clearSocketPath(paths: Pick<RuntimePaths, 'socketPath' | 'pidFile'>): Promise<void> {
  const probe = await probeSocket(paths);
  switch (probe.state) {
    case SocketState.ABSENT:
      return;
    case SocketState.RUNNING:
      throw new DaemonAlreadyRunning(probe.pid, paths.socketPath);
    case SocketState.UNRESPONSIVE:
      throw new SkiffError(
        ErrorCode.CONNECTION_LOST,
        `something listens on ${paths.socketPath} but does not answer (${probe.why}); if no skiffd runs, remove the file and try again`,
        { path: paths.socketPath },
      );
    case SocketState.STALE: {
      const st = await lstat(paths.socketPath).catch(() => undefined);
      if (st === undefined) return;
      if (!st.isSocket()) {
        throw new SkiffError(ErrorCode.CONFIG, `${paths.socketPath} exists and is not a socket; remove it and try again`, { path: paths.socketPath });
      }
      await unlink(paths.socketPath).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') {
          throw new SkiffError(ErrorCode.IO, `cannot remove the stale socket ${paths.socketPath}: ${err.message}`, { cause: err, path: paths.socketPath });
        }
      });
    }
  }
}
