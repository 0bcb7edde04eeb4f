import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { LOCK_STALE_MS, DaemonAlreadyRunning, SocketState, acquireStartupLock, clearSocketPath, probeSocket } from '../src/control/lock.ts';
import { runDaemon } from '../src/control/daemon-main.ts';
import { ensureRuntimeDir, type RuntimePaths } from '../src/control/runtime-paths.ts';
import { startControlServer, type ControlServer } from '../src/control/server.ts';
import { cleanup, freshPaths } from './fixtures/control-harness.ts';

let servers: ControlServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  await cleanup();
});

/** A pid that certainly belongs to no process: one that just exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

describe('ensureRuntimeDir', () => {
  it('creates the directory 0700 whatever the umask', async () => {
    const paths = await freshPaths();
    const old = process.umask(0);
    try {
      await ensureRuntimeDir(paths);
    } finally {
      process.umask(old);
    }
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    await ensureRuntimeDir(paths); // an existing, correct one is fine
  });

  it('refuses an existing directory open to others, without changing it', async () => {
    const paths = await freshPaths();
    await mkdir(paths.dir);
    await chmod(paths.dir, 0o755);
    const err = (await ensureRuntimeDir(paths).catch((e: unknown) => e)) as SkiffError;
    expect(err.code).toBe(ErrorCode.CONFIG);
    expect(err.message).toBe(
      `the runtime directory ${paths.dir} is open to other users (mode 0755, it must be 0700); the daemon's control socket would live there, open to whoever can reach it. Run \`chmod 700 ${paths.dir}\`, or set SKIFF_RUNTIME_DIR to another directory`,
    );
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o755);
  });

  it('refuses a symbolic link and a file', async () => {
    const paths = await freshPaths();
    const real = `${paths.dir}-real`;
    await mkdir(real, { mode: 0o700 });
    await symlink(real, paths.dir);
    await expect(ensureRuntimeDir(paths)).rejects.toThrow(/symbolic link/);
    const other = await freshPaths();
    await writeFile(other.dir, '');
    await expect(ensureRuntimeDir(other)).rejects.toThrow(/not a directory/);
  });

  it.runIf(process.getuid?.() === 0)("refuses another user's directory", async () => {
    const paths = await freshPaths();
    await mkdir(paths.dir, { mode: 0o700 });
    await chown(paths.dir, 1, 1);
    await expect(ensureRuntimeDir(paths)).rejects.toThrow(/belongs to another user \(uid 1, you are 0\)/);
  });
});

describe('startup lock', () => {
  async function lockPaths(): Promise<RuntimePaths> {
    const paths = await freshPaths();
    await ensureRuntimeDir(paths);
    return paths;
  }

  it('lets one holder in at a time', async () => {
    const paths = await lockPaths();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const lock = await acquireStartupLock(paths.lockFile);
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
        await lock.release();
      }),
    );
    expect(most).toBe(1);
    expect(existsSync(paths.lockFile)).toBe(false);
  });

  it('breaks a lock left by a dead process', async () => {
    const paths = await lockPaths();
    await writeFile(paths.lockFile, `${deadPid()}\nabc\n`);
    const lock = await acquireStartupLock(paths.lockFile, 2_000);
    expect((await readFile(paths.lockFile, 'utf8')).startsWith(`${process.pid}\n`)).toBe(true);
    await lock.release();
  });

  it('breaks an old lock even when its pid is alive (pids get reused)', async () => {
    const paths = await lockPaths();
    await writeFile(paths.lockFile, '1\nold\n');
    const past = (Date.now() - LOCK_STALE_MS - 5_000) / 1000;
    await utimes(paths.lockFile, past, past);
    const lock = await acquireStartupLock(paths.lockFile, 2_000);
    await lock.release();
  });

  it('waits for a live, fresh lock and then gives up naming it', async () => {
    const paths = await lockPaths();
    await writeFile(paths.lockFile, '1\nlive\n');
    const err = (await acquireStartupLock(paths.lockFile, 200).catch((e: unknown) => e)) as SkiffError;
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    expect(err.message).toContain(`another skiffd (pid 1) has been starting`);
    expect(err.message).toContain(paths.lockFile);
  });

  it('release leaves a lock that is not its own', async () => {
    const paths = await lockPaths();
    const lock = await acquireStartupLock(paths.lockFile);
    await writeFile(paths.lockFile, '1\nsomeone else\n');
    await lock.release();
    expect(await readFile(paths.lockFile, 'utf8')).toBe('1\nsomeone else\n');
  });
});

describe('socket probe', () => {
  it('tells absent, stale, running and unresponsive apart', async () => {
    const paths = await freshPaths();
    await ensureRuntimeDir(paths);
    expect(await probeSocket(paths)).toEqual({ state: SocketState.ABSENT });

    // A listener that accepts and never answers.
    const accepted: import('node:net').Socket[] = [];
    const mute = createServer((s) => accepted.push(s));
    await new Promise<void>((r) => mute.listen(paths.socketPath, r));
    const probe = await probeSocket(paths, 100);
    expect(probe.state).toBe(SocketState.UNRESPONSIVE);
    await expect(clearSocketPath(paths)).rejects.toThrow(/does not answer/);
    for (const s of accepted) s.destroy();
    await new Promise<void>((r) => mute.close(() => r()));

    const server = await startControlServer({ socketPath: paths.socketPath, handlers: {} });
    servers.push(server);
    expect(await probeSocket(paths)).toEqual({ state: SocketState.RUNNING, pid: process.pid });
    const err = await clearSocketPath(paths).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonAlreadyRunning);
    expect((err as DaemonAlreadyRunning).pid).toBe(process.pid);
  });

  it('removes a stale socket and refuses to remove what is not a socket', async () => {
    const paths = await freshPaths();
    await ensureRuntimeDir(paths);
    // A socket file with no listener: bind in a child process that is then killed.
    const r = spawnSync(process.execPath, ['-e', `require('node:net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))`, paths.socketPath]);
    expect(r.signal).toBe('SIGKILL');
    expect((await stat(paths.socketPath)).isSocket()).toBe(true);
    expect(await probeSocket(paths)).toEqual({ state: SocketState.STALE });
    await clearSocketPath(paths);
    expect(existsSync(paths.socketPath)).toBe(false);

    await writeFile(paths.socketPath, 'not a socket');
    await expect(clearSocketPath(paths)).rejects.toThrow(/is not a socket/);
  });
});

describe('runDaemon in one process', () => {
  it('of eight starts at once, one serves and seven are refused', async () => {
    const paths = await freshPaths();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => runDaemon({ paths, ownProcess: false })));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(7);
    for (const l of lost) expect(l.reason).toBeInstanceOf(DaemonAlreadyRunning);
    const daemon = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof runDaemon>>>).value;
    expect(await readFile(paths.pidFile, 'utf8')).toBe(`${process.pid}\n`);
    await daemon.stop();
    await daemon.stopped;
    expect(existsSync(paths.socketPath)).toBe(false);
    expect(existsSync(paths.pidFile)).toBe(false);
    expect(existsSync(join(paths.dir, 'skiffd.lock'))).toBe(false);
  });

  it('refuses session handlers that would replace its own methods', async () => {
    const paths = await freshPaths();
    await expect(runDaemon({ paths, ownProcess: false, handlers: { 'daemon.stop': () => 1 } })).rejects.toMatchObject({ code: ErrorCode.INTERNAL });
  });
});
