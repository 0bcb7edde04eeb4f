import { ErrorCode, SkiffError } from '@skiff/protocol';
import { connectControl, isDaemonNotRunning } from './client.ts';
import { DaemonMethod } from './daemon-api.ts';
import { isProcessAlive, readPidFile } from './pid-file.ts';
import type { RuntimePaths } from './runtime-paths.ts';
import { sleep } from './sleep.ts';

/**
 * `skiff daemon stop`: ask the daemon to stop and wait until its process is
 * gone. A daemon speaking another control protocol cannot be asked (hello
 * fails), yet stopping it is exactly the advice a protocol mismatch gives;
 * it gets SIGTERM instead, at the pid it published, which is only trusted
 * because its socket still answers.
 */

/** How long to wait for the daemon's process to end. */
export const STOP_TIMEOUT_MS = 10_000;
/** Pause between checks that the process is gone. */
export const STOP_POLL_MS = 25;

export interface StopResult {
  wasRunning: boolean;
  pid?: number;
}

export async function stopDaemon(opts: { paths: Pick<RuntimePaths, 'socketPath' | 'pidFile'>; timeoutMs?: number }): Promise<StopResult> {
  const timeoutMs = opts.timeoutMs ?? STOP_TIMEOUT_MS;
  let pid: number | undefined;
  try {
    const conn = await connectControl({ socketPath: opts.paths.socketPath });
    pid = conn.daemon.pid;
    const closed = new Promise<void>((resolve) => conn.onClose(() => resolve()));
    await conn.request(DaemonMethod.STOP);
    await closed;
  } catch (err) {
    if (isDaemonNotRunning(err)) return { wasRunning: false };
    if (!(err instanceof SkiffError && err.code === ErrorCode.PROTOCOL_VERSION)) throw err;
    pid = await readPidFile(opts.paths.pidFile);
    if (pid === undefined) {
      throw new SkiffError(ErrorCode.PROTOCOL_VERSION, `${err.message}; its pid file ${opts.paths.pidFile} is missing: stop it by hand`, { cause: err });
    }
    try {
      process.kill(pid, 'SIGTERM');
    } catch (killErr) {
      // Gone between the hello and now: stopped is what was asked.
      if ((killErr as NodeJS.ErrnoException).code !== 'ESRCH') throw new SkiffError(ErrorCode.IO, `cannot signal skiffd (pid ${pid}): ${(killErr as Error).message}`, { cause: killErr });
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) {
      throw new SkiffError(ErrorCode.TIMEOUT, `skiffd (pid ${pid}) is still running ${timeoutMs} ms after being asked to stop`);
    }
    await sleep(STOP_POLL_MS);
  }
  return { wasRunning: true, pid };
}
