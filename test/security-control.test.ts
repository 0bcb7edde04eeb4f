import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { connectControl } from '../packages/daemon/src/control/client.ts';
import { LogLevel, type ControlLog } from '../packages/daemon/src/control/log.ts';
import { loadPeerCredReader, ownerOnlyGate, peerRefusal, type PeerCredentials } from '../packages/daemon/src/control/peer-cred.ts';
import { runtimePaths, type RuntimePaths } from '../packages/daemon/src/control/runtime-paths.ts';
import { startControlServer } from '../packages/daemon/src/control/server.ts';
import { LineSplitter, parseServerMessage, type ServerMessage } from '../packages/daemon/src/control/wire.ts';
import { FIXTURE_DAEMON, TSX_IMPORT, cleanup, startFixture, track, waitUntil, withDeadline, type FixtureProcess } from '../packages/daemon/test/fixtures/control-harness.ts';
import { SKIFF_BIN, type CliResult } from './support/run-cli.ts';

/**
 * Only the daemon's own user reaches its control socket. The socket is 0600
 * in a 0700 directory, which the kernel enforces for everyone but root; the
 * daemon also reads each connection's peer credentials (SO_PEERCRED) and
 * refuses another uid with SKIFF_E_AUTH, which stops root too. The
 * cross-user cases need root (to become nobody with setpriv); elsewhere they
 * are skipped.
 */
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const AS_NOBODY = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'];

afterEach(cleanup);

function collectLog(): { log: ControlLog; lines: { level: LogLevel; message: string }[] } {
  const lines: { level: LogLevel; message: string }[] = [];
  return { lines, log: (level, message) => lines.push({ level, message }) };
}

/** Connects without saying anything first and returns every message and when the socket closed. */
async function rawExchange(socketPath: string, send?: string): Promise<{ messages: ServerMessage[]; closed: boolean }> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect(socketPath);
    s.once('error', reject);
    s.once('connect', () => resolve(s));
  });
  const messages: ServerMessage[] = [];
  const splitter = new LineSplitter();
  socket.on('data', (chunk: Buffer) => {
    for (const line of splitter.push(chunk).lines) {
      const parsed = parseServerMessage(line);
      if (parsed.ok) messages.push(parsed.value);
    }
  });
  socket.on('error', () => {});
  if (send !== undefined) socket.write(send);
  await withDeadline(new Promise((resolve) => socket.once('close', resolve)), 'the server to close the connection');
  return { messages, closed: true };
}

/** Runs the skiff command, as a user runs it, optionally as nobody. */
function runCli(args: string[], env: NodeJS.ProcessEnv, asNobody = false): Promise<CliResult> {
  const argv = [...(asNobody ? AS_NOBODY : []), process.execPath, SKIFF_BIN, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('peer credentials', () => {
  it('are read from the kernel for a connection of this process', async () => {
    const load = loadPeerCredReader();
    expect(load.ok, load.ok ? '' : `the addon must be built (node scripts/build.mjs): ${load.reason}`).toBe(true);
    if (!load.ok) return;
    const dir = await mkdtemp(join(tmpdir(), 'skp-'));
    const path = join(dir, 's.sock');
    const seen = new Promise<PeerCredentials>((resolve, reject) => {
      const server = createServer((socket) => {
        try {
          resolve(load.read(socket));
        } catch (err) {
          reject(err);
        }
        socket.destroy();
        server.close();
      });
      server.listen(path, () => connect(path).on('error', () => {}));
    });
    expect(await withDeadline(seen, 'a connection')).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
    await rm(dir, { recursive: true, force: true });
  });

  it('refuse another uid with SKIFF_E_AUTH, naming both uids', () => {
    expect(peerRefusal({ pid: 1, uid: 1000, gid: 1000 }, 1000)).toBeUndefined();
    const refusal = peerRefusal({ pid: 77, uid: 0, gid: 0 }, 1000, 4242);
    expect(refusal).toBeInstanceOf(SkiffError);
    expect(refusal?.code).toBe(ErrorCode.AUTH);
    expect(refusal?.message).toBe('this skiffd (pid 4242) belongs to uid 1000; connections from uid 0 are refused');
  });

  it('without the addon, fall back to the file permissions with one warning', () => {
    const { log, lines } = collectLog();
    const gate = ownerOnlyGate({ ownerUid: 1000, log, credentials: { ok: false, reason: 'reaper.node not found' } });
    for (let i = 0; i < 5; i++) expect(gate({} as Socket, i)).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe(LogLevel.WARN);
    expect(lines[0].message).toContain('reaper.node not found');
    expect(lines[0].message).toContain('file permissions');
  });

  it('refuse a connection whose credentials cannot be read, rather than let it in', () => {
    const { log, lines } = collectLog();
    const read = () => {
      throw new Error('getsockopt failed');
    };
    const gate = ownerOnlyGate({ ownerUid: 1000, log, credentials: { ok: true, read, path: 'fake' } });
    expect(gate({} as Socket, 3)?.code).toBe(ErrorCode.AUTH);
    expect(lines.map((l) => l.level)).toEqual([LogLevel.WARN]);
  });
});

describe('the control server checks who connects', () => {
  it('answers a connection from another uid with one SKIFF_E_AUTH error and closes it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skp-'));
    const socketPath = join(dir, 'c.sock');
    const { log, lines } = collectLog();
    const owner = process.getuid!() + 4242;
    const server = await startControlServer({ socketPath, handlers: {}, log, ownerUid: owner });
    try {
      // Says hello and a request: neither is read, the one answer comes anyway.
      const { messages } = await rawExchange(socketPath, '{"id":1,"method":"hello","params":{"protocol":1,"version":"t"}}\n{"id":2,"method":"ping"}\n');
      expect(messages).toEqual([
        {
          id: null,
          ok: false,
          error: { code: ErrorCode.AUTH, message: `this skiffd (pid ${process.pid}) belongs to uid ${owner}; connections from uid ${process.getuid!()} are refused` },
        },
      ]);
      await expect(connectControl({ socketPath })).rejects.toThrow(`belongs to uid ${owner}; connections from uid ${process.getuid!()} are refused`);
      expect(lines.filter((l) => l.level === LogLevel.WARN && l.message.includes(`pid ${process.pid} of uid ${process.getuid!()} refused`))).toHaveLength(2);
      await waitUntil(() => server.clients() === 0, 'the refused connections to be gone');
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves its own uid as before', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'skp-'));
    const socketPath = join(dir, 'c.sock');
    const { log, lines } = collectLog();
    const server = await startControlServer({ socketPath, handlers: { echo: (p) => p }, log });
    try {
      const conn = await connectControl({ socketPath });
      expect(await conn.request('echo', { a: 1 })).toEqual({ a: 1 });
      await conn.close();
      expect(lines.filter((l) => l.level === LogLevel.WARN)).toEqual([]);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** A directory that nobody may traverse, so that only the runtime directory's own mode decides. */
async function openBase(): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'sks-'));
  await chmod(base, 0o755);
  return base;
}

/** The fixture daemon as nobody, on a runtime directory nobody owns. */
async function startNobodyFixture(paths: RuntimePaths): Promise<FixtureProcess> {
  await mkdir(paths.dir, { mode: 0o700 });
  await chown(paths.dir, NOBODY, NOBODY);
  const child = spawn(AS_NOBODY[0], [...AS_NOBODY.slice(1), process.execPath, '--import', TSX_IMPORT, FIXTURE_DAEMON], {
    env: { ...process.env, SKIFF_RUNTIME_DIR: paths.dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child.pid);
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<boolean>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"event":"ready"')) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  if (!(await withDeadline(ready, 'the daemon of nobody to be ready'))) throw new Error(`the daemon of nobody did not start:\n${err}`);
  return { child, pid: child.pid!, exited, stderr: () => err };
}

describe.skipIf(!isRoot || !hasSetpriv)('another user', () => {
  it("cannot reach root's daemon: the kernel refuses, and the command says where and why", async () => {
    const base = await openBase();
    try {
      const paths = runtimePaths({ SKIFF_RUNTIME_DIR: join(base, 'run') }, '/nonexistent');
      const daemon = await startFixture(paths);
      const env = { SKIFF_RUNTIME_DIR: paths.dir };
      const asNobody = await runCli(['daemon', 'status'], env, true);
      expect(asNobody.code).toBe(1);
      expect(asNobody.stderr).toContain(`cannot reach skiffd (${paths.socketPath}: connect EACCES`);
      expect(asNobody.stderr).toContain(`[${ErrorCode.CONNECTION_LOST}]`);
      // A session command neither starts a second daemon nor touches the first.
      const dev = await runCli(['status', base], env, true);
      expect(dev.code).toBe(1);
      expect(dev.stderr).toContain('EACCES');
      expect((await readFile(paths.pidFile, 'utf8')).trim()).toBe(String(daemon.pid));
      // The owner is still served.
      const asRoot = await runCli(['daemon', 'status'], env);
      expect(asRoot.stdout).toContain(`running (pid ${daemon.pid}`);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it("root cannot use nobody's daemon: file permissions do not stop root, the peer check does", async () => {
    const base = await openBase();
    try {
      const paths = runtimePaths({ SKIFF_RUNTIME_DIR: join(base, 'run') }, '/nonexistent');
      const daemon = await startNobodyFixture(paths);
      const refusal = `this skiffd (pid ${daemon.pid}) belongs to uid ${NOBODY}; connections from uid 0 are refused`;

      const { messages } = await rawExchange(paths.socketPath, '{"id":0,"method":"hello","params":{"protocol":1,"version":"t"}}\n');
      expect(messages).toEqual([{ id: null, ok: false, error: { code: ErrorCode.AUTH, message: refusal } }]);
      await expect(connectControl({ socketPath: paths.socketPath })).rejects.toThrow(refusal);
      const asRoot = await runCli(['daemon', 'status'], { SKIFF_RUNTIME_DIR: paths.dir });
      expect(asRoot.code).toBe(1);
      expect(asRoot.stderr).toContain(refusal);
      expect(asRoot.stderr).toContain(`[${ErrorCode.AUTH}]`);
      expect(asRoot.stdout).toBe('');

      // Its owner is served.
      const asNobody = await runCli(['daemon', 'status'], { SKIFF_RUNTIME_DIR: paths.dir }, true);
      expect(asNobody.code).toBe(0);
      expect(asNobody.stdout).toContain(`running (pid ${daemon.pid}`);
      expect(daemon.stderr()).toMatch(/client \d+: pid \d+ of uid 0 refused; this daemon serves uid 65534 only/);
      expect(daemon.stderr()).not.toContain('cannot check which user');
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
