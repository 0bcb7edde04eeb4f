import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { ensureDaemon } from '../src/control/autostart.ts';
import type { ControlConnection } from '../src/control/client.ts';
import { DaemonMethod, type DaemonStatus } from '../src/control/daemon-api.ts';
import { isProcessAlive } from '../src/control/pid-file.ts';
import { stopDaemon } from '../src/control/stop.ts';
import { cleanup, daemonCommand, freshPaths, startFixture, track, waitForExit } from './fixtures/control-harness.ts';

/** The CLI's side of the lifecycle: start a daemon when none answers, stop it. */

/** Generous: a daemon started through tsx on two loaded cores takes a second or more. */
const START_TIMEOUT_MS = 20_000;

let conns: ControlConnection[] = [];
afterEach(async () => {
  await Promise.all(conns.map((c) => c.close()));
  conns = [];
  await cleanup();
});

function keep<T extends { connection: ControlConnection; spawnedPid?: number }>(r: T): T {
  conns.push(r.connection);
  track(r.spawnedPid);
  return r;
}

describe('ensureDaemon', () => {
  it('starts a detached daemon logging to skiffd.log, then reuses it', async () => {
    const paths = await freshPaths();
    const first = keep(await ensureDaemon({ paths, daemonCommand, timeoutMs: START_TIMEOUT_MS }));
    expect(first.spawnedPid).toBeDefined();
    expect(first.connection.daemon.pid).toBe(first.spawnedPid);
    const status = await first.connection.request<DaemonStatus>(DaemonMethod.STATUS);
    expect(status.log).toBe(paths.logFile);
    expect((await stat(paths.logFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(paths.logFile, 'utf8')).toContain(`skiffd 0.1.0 ready (pid ${first.spawnedPid}`);

    const second = keep(await ensureDaemon({ paths, daemonCommand, timeoutMs: START_TIMEOUT_MS }));
    expect(second.spawnedPid).toBeUndefined();
    expect(second.connection.daemon.pid).toBe(first.spawnedPid);
  });

  it('two CLIs starting it at once end up with one daemon', async () => {
    const paths = await freshPaths();
    const [a, b] = (await Promise.all([ensureDaemon({ paths, daemonCommand, timeoutMs: START_TIMEOUT_MS }), ensureDaemon({ paths, daemonCommand, timeoutMs: START_TIMEOUT_MS })])).map(keep);
    expect(a.connection.daemon.pid).toBe(b.connection.daemon.pid);
    const winner = a.connection.daemon.pid;
    expect(await readFile(paths.pidFile, 'utf8')).toBe(`${winner}\n`);
    // Both spawned; the one that lost the start lock exited on its own.
    const spawned = [a.spawnedPid, b.spawnedPid].filter((p): p is number => p !== undefined);
    expect(spawned).toContain(winner);
    for (const pid of spawned) if (pid !== winner) await waitForExit(pid, 'the losing daemon to exit');
    expect(isProcessAlive(winner)).toBe(true);
    expect(await readFile(paths.logFile, 'utf8')).toMatch(/skiffd already runs \(pid \d+, socket .*\); this one exits/);
  });

  it('names the log and quotes it when the daemon does not answer in time', async () => {
    const paths = await freshPaths();
    const hang = { command: process.execPath, args: ['-e', "console.error('cannot open the watcher: ENOSPC'); setTimeout(() => {}, 6000)"] };
    // Long enough for a loaded machine to start node and let it write its line.
    const err = (await ensureDaemon({ paths, daemonCommand: hang, timeoutMs: 3_000 }).catch((e: unknown) => e)) as SkiffError;
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    expect(err.message).toContain(`skiffd did not answer on ${paths.socketPath} within 3000 ms of being started; the end of its log ${paths.logFile}:`);
    expect(err.message).toContain('  cannot open the watcher: ENOSPC');
  });

  it('fails fast, with the log, when the daemon exits during its start', async () => {
    const paths = await freshPaths();
    const bad = { command: process.execPath, args: ['-e', "console.error('skiff.yaml: bad port'); process.exit(1)"] };
    const t0 = Date.now();
    const err = (await ensureDaemon({ paths, daemonCommand: bad, timeoutMs: START_TIMEOUT_MS }).catch((e: unknown) => e)) as SkiffError;
    expect(Date.now() - t0).toBeLessThan(START_TIMEOUT_MS / 2);
    expect(err.code).toBe(ErrorCode.CONNECTION_LOST);
    expect(err.message).toContain('skiffd exited during its start (exit status 1)');
    expect(err.message).toContain('skiff.yaml: bad port');
  });

  it('reports a command that cannot be run', async () => {
    const paths = await freshPaths();
    const err = (await ensureDaemon({ paths, daemonCommand: { command: '/nonexistent/skiffd', args: [] }, timeoutMs: START_TIMEOUT_MS }).catch((e: unknown) => e)) as SkiffError;
    expect(err.code).toBe(ErrorCode.CONNECTION_LOST);
    expect(err.message).toMatch(/skiffd could not be started \(\/nonexistent\/skiffd: .*ENOENT/);
  });

  it('passes a protocol mismatch through without starting anything', async () => {
    const paths = await freshPaths();
    await startFixture(paths);
    const err = (await ensureDaemon({ paths, daemonCommand, protocol: 999 }).catch((e: unknown) => e)) as SkiffError;
    expect(err.code).toBe(ErrorCode.PROTOCOL_VERSION);
    expect(err.message).toContain('stop it with `skiff daemon stop`');
  });
});

describe('stopDaemon', () => {
  it('stops a running daemon and waits for its process to end', async () => {
    const paths = await freshPaths();
    const d = await startFixture(paths);
    expect(await stopDaemon({ paths })).toEqual({ wasRunning: true, pid: d.pid });
    expect(isProcessAlive(d.pid)).toBe(false);
    expect(existsSync(paths.socketPath)).toBe(false);
    expect(existsSync(paths.pidFile)).toBe(false);
    expect(await stopDaemon({ paths })).toEqual({ wasRunning: false });
  });
});
