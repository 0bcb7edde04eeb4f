import { stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { connectControl, isDaemonNotRunning, type ControlConnection } from '../src/control/client.ts';
import type { ControlLog } from '../src/control/log.ts';
import { ensureRuntimeDir } from '../src/control/runtime-paths.ts';
import { startControlServer, type ControlClient, type ControlHandlers, type ControlServer } from '../src/control/server.ts';
import { MAX_LINE_BYTES } from '../src/control/wire.ts';
import { RawClient, cleanup, freshPaths, withDeadline } from './fixtures/control-harness.ts';

/** The server in this process, on a real socket; clients are real connections. */

let servers: ControlServer[] = [];
let conns: ControlConnection[] = [];
const logged: string[] = [];
const log: ControlLog = (level, message) => logged.push(`${level} ${message}`);

afterEach(async () => {
  await Promise.all(conns.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
  conns = [];
  servers = [];
  logged.length = 0;
  await cleanup();
});

async function serve(handlers: ControlHandlers = {}, limits?: Parameters<typeof startControlServer>[0]['limits']) {
  const paths = await freshPaths();
  await ensureRuntimeDir(paths);
  const server = await startControlServer({ socketPath: paths.socketPath, handlers, log, limits });
  servers.push(server);
  return { paths, server };
}

async function client(socketPath: string, protocol?: number): Promise<ControlConnection> {
  const c = await connectControl({ socketPath, protocol });
  conns.push(c);
  return c;
}

describe('control server', () => {
  it('greets, answers ping and routes to handlers', async () => {
    const { paths } = await serve({ echo: (p) => p, add: (p) => (p as { a: number; b: number }).a + (p as { a: number; b: number }).b });
    const c = await client(paths.socketPath);
    expect(c.daemon).toEqual({ protocol: 1, version: '0.1.0', pid: process.pid });
    expect(await c.request('ping')).toMatchObject({ pid: process.pid });
    expect(await c.request('echo', { x: [1, 'two'] })).toEqual({ x: [1, 'two'] });
    expect(await c.request('add', { a: 2, b: 3 })).toBe(5);
  });

  it('makes the socket 0600 and removes it on close', async () => {
    const { paths, server } = await serve();
    expect((await stat(paths.socketPath)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.dir)).mode & 0o777).toBe(0o700);
    await server.close();
    expect(existsSync(paths.socketPath)).toBe(false);
  });

  it('refuses a client of another control protocol with advice', async () => {
    const { paths } = await serve();
    const err = await connectControl({ socketPath: paths.socketPath, protocol: 999, version: '9.9.9' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SkiffError);
    expect((err as SkiffError).code).toBe(ErrorCode.PROTOCOL_VERSION);
    expect((err as SkiffError).message).toBe(
      `the running daemon is skiff 0.1.0 (control protocol 1, pid ${process.pid}) and this CLI is skiff 9.9.9 (control protocol 999): stop it with \`skiff daemon stop\` and run the command again`,
    );
  });

  it('answers any method before hello with PROTOCOL_STATE and keeps the connection', async () => {
    const { paths } = await serve({ echo: (p) => p });
    const raw = await RawClient.open(paths.socketPath);
    raw.sendJson({ id: 1, method: 'echo', params: {} });
    await raw.until(() => raw.responses().length === 1, 'the answer');
    expect(raw.responses()[0]).toMatchObject({ id: 1, ok: false, error: { code: ErrorCode.PROTOCOL_STATE } });
    raw.sendJson({ id: 2, method: 'hello', params: { protocol: 1, version: 'raw' } });
    raw.sendJson({ id: 3, method: 'echo', params: { ok: 1 } });
    await raw.until(() => raw.responses().length === 3, 'hello and echo');
    expect(raw.responses()[2]).toEqual({ id: 3, ok: true, result: { ok: 1 } });
    raw.sendJson({ id: 4, method: 'hello', params: { protocol: 1, version: 'raw' } });
    await raw.until(() => raw.responses().length === 4, 'second hello');
    expect(raw.responses()[3]).toMatchObject({ id: 4, ok: false, error: { code: ErrorCode.PROTOCOL_STATE } });
    raw.close();
  });

  it('answers a malformed line with FRAME_MALFORMED and keeps serving everyone', async () => {
    const { paths } = await serve({ echo: (p) => p });
    const other = await client(paths.socketPath);
    const raw = await RawClient.greeted(paths.socketPath);
    raw.send('{this is not json\n');
    raw.sendJson({ id: 7, method: 'echo', params: [1] });
    raw.sendJson({ id: 8, method: 'echo', params: { still: 'here' } });
    await raw.until(() => raw.responses().length === 4, 'three answers');
    const [, bad, badParams, good] = raw.responses();
    expect(bad).toMatchObject({ id: null, ok: false, error: { code: ErrorCode.FRAME_MALFORMED } });
    expect(badParams).toMatchObject({ id: 7, ok: false, error: { code: ErrorCode.FRAME_MALFORMED } });
    expect(good).toEqual({ id: 8, ok: true, result: { still: 'here' } });
    expect(await other.request('echo', { n: 1 })).toEqual({ n: 1 });
    raw.close();
  });

  it('closes a connection that sends a line over the limit, and only that one', async () => {
    const { paths, server } = await serve({ echo: (p) => p });
    const other = await client(paths.socketPath);
    const raw = await RawClient.greeted(paths.socketPath);
    raw.send(Buffer.alloc(MAX_LINE_BYTES + 10, 0x61));
    await raw.until(() => raw.closed, 'the server to close the connection');
    expect(raw.responses().at(-1)).toMatchObject({ id: null, ok: false, error: { code: ErrorCode.FRAME_MALFORMED } });
    expect(await other.request('echo', { n: 2 })).toEqual({ n: 2 });
    expect(server.clients()).toBe(1);
  });

  it('lists the methods for an unknown one', async () => {
    const { paths } = await serve({ 'session.open': () => 1, echo: (p) => p });
    const c = await client(paths.socketPath);
    const err = (await c.request('nope').catch((e: unknown) => e)) as SkiffError;
    expect(err.code).toBe(ErrorCode.USAGE);
    expect(err.message).toBe('unknown method "nope"; methods: echo, hello, ping, session.open');
  });

  it('turns a throwing handler into an error response with its code, and keeps serving', async () => {
    const { paths } = await serve({
      denied: () => {
        throw new SkiffError(ErrorCode.AUTH, 'no');
      },
      rejects: async () => {
        throw new SkiffError(ErrorCode.DISK_FULL, 'full');
      },
      bug: () => {
        throw new TypeError('undefined is not a function');
      },
      coded: () => {
        throw Object.assign(new Error('foreign error with a known code'), { code: ErrorCode.TIMEOUT });
      },
      cyclic: () => {
        const o: Record<string, unknown> = {};
        o.o = o;
        return o;
      },
      echo: (p) => p,
    });
    const c = await client(paths.socketPath);
    const codeOf = (m: string) => c.request(m).then(() => 'resolved', (e: SkiffError) => e.code);
    expect(await codeOf('denied')).toBe(ErrorCode.AUTH);
    expect(await codeOf('rejects')).toBe(ErrorCode.DISK_FULL);
    expect(await codeOf('bug')).toBe(ErrorCode.INTERNAL);
    expect(await codeOf('coded')).toBe(ErrorCode.TIMEOUT);
    expect(await codeOf('cyclic')).toBe(ErrorCode.INTERNAL);
    expect(await c.request('echo', { alive: true })).toEqual({ alive: true });
    expect(logged.some((l) => l.startsWith('error method bug: TypeError'))).toBe(true);
  });

  it('answers requests of one client as they finish, not in order', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { paths } = await serve({ wait: async () => (await gate, 'late'), now: () => 'early' });
    const c = await client(paths.socketPath);
    const late = c.request('wait');
    expect(await c.request('now')).toBe('early');
    release();
    expect(await late).toBe('late');
  });

  it('runs onClose callbacks when a client goes away, and emit after that is a no-op', async () => {
    const seen: ControlClient[] = [];
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => (closedResolve = r));
    const { paths, server } = await serve({
      watch: (_p, cl) => {
        seen.push(cl);
        cl.onClose(() => closedResolve());
        cl.onClose(() => {
          throw new Error('a failing close callback is reported, not thrown');
        });
        return cl.id;
      },
    });
    const c = await client(paths.socketPath);
    await c.request('watch');
    expect(server.clients()).toBe(1);
    await c.close();
    await withDeadline(closed, 'onClose');
    expect(seen[0].closed).toBe(true);
    seen[0].emit('late', {});
    let ranAtOnce = false;
    seen[0].onClose(() => (ranAtOnce = true));
    expect(ranAtOnce).toBe(true);
    expect(server.clients()).toBe(0);
    expect(logged.some((l) => l.includes('close callback failed'))).toBe(true);
  });

  it('rejects pending requests when the server closes, and reports not running afterwards', async () => {
    const { paths, server } = await serve({ never: () => new Promise(() => {}) });
    const c = await client(paths.socketPath);
    const reasons: (SkiffError | undefined)[] = [];
    c.onClose((r) => reasons.push(r));
    const pending = c.request('never').catch((e: SkiffError) => e);
    await server.close();
    expect((await pending as SkiffError).code).toBe(ErrorCode.CONNECTION_LOST);
    expect(reasons[0]?.code).toBe(ErrorCode.CONNECTION_LOST);
    expect(c.closed).toBe(true);
    await expect(c.request('ping')).rejects.toMatchObject({ code: ErrorCode.CONNECTION_LOST });
    const err = await connectControl({ socketPath: paths.socketPath }).catch((e: unknown) => e);
    expect(isDaemonNotRunning(err)).toBe(true);
  });

  it('refuses handlers that would replace built-in methods', async () => {
    const paths = await freshPaths();
    await ensureRuntimeDir(paths);
    await expect(startControlServer({ socketPath: paths.socketPath, handlers: { hello: () => 1 } })).rejects.toMatchObject({ code: ErrorCode.INTERNAL });
  });

  it('applies a request timeout on the client side', async () => {
    const { paths } = await serve({ never: () => new Promise(() => {}), echo: (p) => p });
    const c = await client(paths.socketPath);
    await expect(c.request('never', {}, { timeoutMs: 50 })).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
    expect(await c.request('echo', { after: 'timeout' })).toEqual({ after: 'timeout' });
  });

  it('delivers events to listeners, by name and to any-event listeners', async () => {
    const { paths } = await serve({
      tell: (p, cl) => {
        const { n } = p as { n: number };
        for (let i = 0; i < n; i++) cl.emit(i % 2 ? 'odd' : 'even', { i });
        return n;
      },
    });
    const c = await client(paths.socketPath);
    const odd: unknown[] = [];
    const all: string[] = [];
    const off = c.on('odd', (d) => odd.push(d));
    c.on('*', (_d, e) => all.push(e));
    await c.request('tell', { n: 4 });
    // Events emitted before the answer arrive before it.
    expect(odd).toEqual([{ i: 1 }, { i: 3 }]);
    expect(all).toEqual(['even', 'odd', 'even', 'odd']);
    off();
    await c.request('tell', { n: 2 });
    expect(odd).toHaveLength(2);
  });
});
