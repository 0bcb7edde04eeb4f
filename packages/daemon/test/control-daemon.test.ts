import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { connectControl, type ControlConnection } from '../src/control/client.ts';
import { DaemonExit, DaemonMethod, type DaemonStatus } from '../src/control/daemon-api.ts';
import { isProcessAlive } from '../src/control/pid-file.ts';
import { RawClient, cleanup, freshPaths, spawnFixture, startFixture, waitUntil, withDeadline } from './fixtures/control-harness.ts';

/** skiffd as a real process (the fixture daemon), reached over its real socket. */

let conns: ControlConnection[] = [];
afterEach(async () => {
  await Promise.all(conns.map((c) => c.close()));
  conns = [];
  await cleanup();
});

async function client(socketPath: string): Promise<ControlConnection> {
  const c = await connectControl({ socketPath });
  conns.push(c);
  return c;
}

/** Collects `tick` events in arrival order. */
function ticks(c: ControlConnection): number[] {
  const seqs: number[] = [];
  c.on('tick', (d) => seqs.push((d as { seq: number }).seq));
  return seqs;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('skiffd lifecycle', () => {
  it('serves on a 0600 socket in a 0700 directory and publishes its pid', async () => {
    const paths = await freshPaths();
    const d = await startFixture(paths);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(paths.socketPath)).mode & 0o777).toBe(0o600);
    expect(await readFile(paths.pidFile, 'utf8')).toBe(`${d.pid}\n`);
    expect(existsSync(paths.lockFile)).toBe(false);
    const c = await client(paths.socketPath);
    const status = await c.request<DaemonStatus>(DaemonMethod.STATUS);
    expect(status).toMatchObject({ pid: d.pid, version: '0.1.0', protocol: 1, clients: 1, socket: paths.socketPath, log: paths.logFile });
    expect(status.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(status.startedAt)).not.toBeNaN();
  });

  it('daemon.stop answers, then removes the socket and the pid file and exits 0', async () => {
    const paths = await freshPaths();
    const d = await startFixture(paths);
    const c = await client(paths.socketPath);
    const closed = new Promise<void>((r) => c.onClose(() => r()));
    expect(await c.request(DaemonMethod.STOP)).toEqual({ stopping: true, pid: d.pid });
    await withDeadline(closed, 'the daemon to close the connection');
    expect(await withDeadline(d.exited, 'the daemon to exit')).toEqual({ code: 0, signal: null });
    expect(existsSync(paths.socketPath)).toBe(false);
    expect(existsSync(paths.pidFile)).toBe(false);
  });

  it('SIGTERM stops it cleanly too', async () => {
    const paths = await freshPaths();
    const d = await startFixture(paths);
    d.child.kill('SIGTERM');
    expect(await withDeadline(d.exited, 'the daemon to exit')).toEqual({ code: 0, signal: null });
    expect(existsSync(paths.socketPath)).toBe(false);
    expect(existsSync(paths.pidFile)).toBe(false);
  });

  it('a second daemon refuses and names the running one', async () => {
    const paths = await freshPaths();
    const first = await startFixture(paths);
    const second = spawnFixture(paths);
    expect(await withDeadline(second.ready, 'the second daemon to give up')).toBe('exited');
    expect((await second.exited).code).toBe(DaemonExit.ALREADY_RUNNING);
    expect(second.stderr()).toContain(`skiffd already runs (pid ${first.pid}, socket ${paths.socketPath})`);
    const c = await client(paths.socketPath);
    expect(c.daemon.pid).toBe(first.pid);
    expect(await readFile(paths.pidFile, 'utf8')).toBe(`${first.pid}\n`);
  });

  it('the next start cleans up after a daemon killed with SIGKILL', async () => {
    const paths = await freshPaths();
    const first = await startFixture(paths);
    first.child.kill('SIGKILL');
    await withDeadline(first.exited, 'the kill');
    expect(existsSync(paths.socketPath)).toBe(true);
    expect(existsSync(paths.pidFile)).toBe(true);
    const second = await startFixture(paths);
    const c = await client(paths.socketPath);
    expect(c.daemon.pid).toBe(second.pid);
    expect(await readFile(paths.pidFile, 'utf8')).toBe(`${second.pid}\n`);
  });

  it('of daemons started at the same moment, exactly one wins', async () => {
    for (let round = 0; round < 2; round++) {
      const paths = await freshPaths();
      // All four wait for the same moment, after their (slow, uneven) process start.
      const startAt = String(Date.now() + 3_000);
      const racers = Array.from({ length: 4 }, () => spawnFixture(paths, { SKIFF_TEST_START_AT: startAt }));
      const outcomes = await withDeadline(Promise.all(racers.map((r) => r.ready)), 'the race');
      expect(outcomes.filter((o) => o === 'ready')).toHaveLength(1);
      const winner = racers[outcomes.indexOf('ready')];
      for (const r of racers) if (r !== winner) expect((await r.exited).code).toBe(DaemonExit.ALREADY_RUNNING);
      const c = await client(paths.socketPath);
      expect(c.daemon.pid).toBe(winner.pid);
      expect(await readFile(paths.pidFile, 'utf8')).toBe(`${winner.pid}\n`);
      await c.request(DaemonMethod.STOP);
      await withDeadline(winner.exited, 'the winner to stop');
    }
  });
});

describe('skiffd events and slow clients', () => {
  it('two clients both receive every event of a burst of 10,000', async () => {
    const paths = await freshPaths();
    await startFixture(paths);
    const a = await client(paths.socketPath);
    const b = await client(paths.socketPath);
    const seenA = ticks(a);
    const seenB = ticks(b);
    await a.request('subscribe');
    await b.request('subscribe');
    expect(await a.request('burst', { count: 10_000, size: 64 })).toEqual({ sent: 10_000, to: 2 });
    await waitUntil(() => seenA.length === 10_000 && seenB.length === 10_000, 'both clients to get 10,000 events');
    expect(seenA).toEqual(range(10_000));
    expect(seenB).toEqual(range(10_000));
  });

  it('a client that stops reading does not slow the others, and hears how much it missed', async () => {
    const paths = await freshPaths();
    await startFixture(paths);
    const slow = await RawClient.greeted(paths.socketPath);
    slow.sendJson({ id: 1, method: 'subscribe' });
    await slow.until(() => slow.responses().some((r) => r.id === 1), 'the slow client to subscribe');
    slow.socket.pause();

    const fast = await client(paths.socketPath);
    const seen = ticks(fast);
    await fast.request('subscribe');
    // 10 bursts of 1,000 events of 2 KiB: each fits the 8 MiB a client may have
    // queued, their sum (about 20 MiB) does not. One burst is queued in one
    // synchronous loop, so a burst larger than the bound would lag every client.
    const rounds = 10;
    const perRound = 1_000;
    const count = rounds * perRound;
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      await fast.request('burst', { count: perRound, size: 2048, from: r * perRound });
      await waitUntil(() => seen.length === (r + 1) * perRound, `the fast client to get burst ${r}`);
    }
    const fastMs = performance.now() - t0;
    expect(seen).toEqual(range(count));
    expect(fast.closed).toBe(false);

    // The daemon answers a third client at once while the slow one's queue is full.
    const third = await client(paths.socketPath);
    const p0 = performance.now();
    await third.request('ping');
    expect(performance.now() - p0).toBeLessThan(1_000);
    expect(fastMs).toBeLessThan(10_000);

    slow.socket.resume();
    await slow.until(() => slow.events('lagged').length === 1, 'the lagged event');
    const before = slow.messages.findIndex((m) => 'event' in m && m.event === 'lagged');
    const got = slow.messages.slice(0, before).filter((m) => 'event' in m && m.event === 'tick').map((m) => (m as { data: { seq: number } }).data.seq);
    const { dropped } = slow.events('lagged')[0].data as { dropped: number };
    expect(dropped).toBeGreaterThan(0);
    expect(got).toEqual(range(got.length));
    expect(got.length + dropped).toBe(count);

    // After the lagged event, events flow again.
    await fast.request('burst', { count: 3, size: 1, from: count });
    await slow.until(() => slow.events('tick').length === got.length + 3, 'the events after lagging');
    expect(slow.events('tick').slice(-3).map((e) => (e.data as { seq: number }).seq)).toEqual([count, count + 1, count + 2]);
    expect(fast.closed).toBe(false);
    slow.close();
  });

  it('disconnects a client whose queue stays over the bound', async () => {
    const paths = await freshPaths();
    await startFixture(paths, { SKIFF_TEST_MAX_BUFFERED: String(64 * 1024), SKIFF_TEST_STALL_MS: '300' });
    const stuck = await RawClient.greeted(paths.socketPath);
    stuck.sendJson({ id: 1, method: 'subscribe' });
    await stuck.until(() => stuck.responses().some((r) => r.id === 1), 'subscribe');
    stuck.socket.pause();
    const c = await client(paths.socketPath);
    await c.request('burst', { count: 2_000, size: 1024 });
    await waitUntil(async () => (await c.request<DaemonStatus>(DaemonMethod.STATUS)).clients === 1, 'the stuck client to be dropped');
    stuck.socket.resume();
    await stuck.until(() => stuck.closed, 'the stuck client to see the close');
  });

  it('a client killed with SIGKILL mid-stream does not disturb the others', async () => {
    const paths = await freshPaths();
    await startFixture(paths);
    // A separate process that subscribes, then stops reading, then is killed.
    const script = `
      const s = require('node:net').connect(process.argv[1]);
      s.write(JSON.stringify({ id: 1, method: 'hello', params: { protocol: 1, version: 'victim' } }) + '\\n');
      s.write(JSON.stringify({ id: 2, method: 'subscribe' }) + '\\n');
      let buf = '';
      s.on('data', (d) => { buf += d; if (buf.includes('"id":2')) { s.pause(); process.stdout.write('subscribed\\n'); } });
    `;
    const victim = spawn(process.execPath, ['-e', script, paths.socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    await withDeadline(new Promise<void>((r) => victim.stdout!.on('data', (d: Buffer) => d.toString().includes('subscribed') && r())), 'the victim to subscribe');

    const c = await client(paths.socketPath);
    const seen = ticks(c);
    await c.request('subscribe');
    // 2,500 events of 2 KiB: 5 MiB queued for each of the two, under the bound.
    await c.request('burst', { count: 2_500, size: 2048 });
    victim.kill('SIGKILL');
    await waitUntil(() => seen.length === 2_500, 'the first burst');
    await waitUntil(async () => (await c.request<DaemonStatus>(DaemonMethod.STATUS)).clients === 1, 'the victim to be cleaned up');
    await c.request('burst', { count: 2_500, size: 16, from: 2_500 });
    await waitUntil(() => seen.length === 5_000, 'the second burst');
    expect(seen).toEqual(range(5_000));
    expect(isProcessAlive(c.daemon.pid)).toBe(true);
  });
});

describe('skiffd and handler failures', () => {
  it('a handler that throws answers with its code; the daemon keeps running', async () => {
    const paths = await freshPaths();
    const d = await startFixture(paths);
    const c = await client(paths.socketPath);
    await expect(c.request('fail', { code: 'SKIFF_E_DISK_FULL', message: 'no space' })).rejects.toMatchObject({ code: 'SKIFF_E_DISK_FULL', message: 'no space' });
    await expect(c.request('crash')).rejects.toMatchObject({ code: 'SKIFF_E_INTERNAL', message: 'a bug in a handler' });
    expect(await c.request('echo', { still: 'up' })).toEqual({ still: 'up' });
    expect(d.stderr()).toContain('method crash: Error: a bug in a handler');
  });
});
