import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Capability,
  ErrorCode,
  Kind,
  LogStream,
  encodeFrame,
  type AppSpec,
  type AppStatusHeader,
} from '@skiff/protocol';
import { AgentClient } from '@skiff/daemon';
import { TestClient, rawFrame, startTestAgent, type TestAgent } from './agent-harness.ts';
import { AgentProcess } from './support/agent-process.ts';
import { Waiters } from './support/waiters.ts';

/**
 * The app spec travels over the wire (APP_SPEC), to a real agent process, as
 * the daemon sends it (AgentClient.sendAppSpec): a different spec restarts
 * the app once with it, an equal one changes nothing, a bad one ends the
 * connection with an ERROR that carries its code.
 */

const WAIT_MS = 20_000;
const dec = new TextDecoder();

/** A daemon's view of one agent: its client plus every status and system line it received. */
class Daemon {
  readonly statuses: AppStatusHeader[] = [];
  readonly system: string[] = [];
  readonly stdout: string[] = [];
  private readonly waiters = new Waiters(() => `statuses ${JSON.stringify(this.statuses.map((s) => [s.state, s.message]))}; system:\n${this.systemText()}`);
  private nextBatch = 1;
  client!: AgentClient;

  static async connect(agent: AgentProcess): Promise<Daemon> {
    const d = new Daemon();
    d.client = await AgentClient.connect(agent.url, agent.token, {
      appStatus: (status) => {
        d.statuses.push(status);
        d.wake();
      },
      log: (header, data) => {
        (header.stream === LogStream.SYSTEM ? d.system : d.stdout).push(dec.decode(data));
        d.wake();
      },
    });
    return d;
  }

  /** A verify-only batch (what the daemon commits after a connect): resolves with its APPLIED. */
  async commit(): Promise<void> {
    const batch = this.nextBatch++;
    const applied = this.client.applied(batch);
    await this.client.send(encodeFrame(Kind.BATCH_BEGIN, { batch, ops: 0, bytes: 0 }));
    await this.client.send(encodeFrame(Kind.COMMIT, { batch }));
    await applied;
  }

  count(state: AppStatusHeader['state']): number {
    return this.statuses.filter((s) => s.state === state).length;
  }

  systemText(): string {
    return this.system.join('');
  }

  until<T>(what: string, predicate: () => T | undefined | null | false): Promise<T> {
    return this.waiters.until(what, predicate, WAIT_MS);
  }

  /** The n-th status `state` whose message is `message`. */
  nth(state: AppStatusHeader['state'], n: number, message?: string): Promise<AppStatusHeader> {
    return this.until(`status #${n} ${state} ${message ?? ''}`, () => this.statuses.filter((s) => s.state === state && (message === undefined || s.message === message))[n - 1]);
  }

  private wake(): void {
    this.waiters.poke();
  }
}

const V1 = 'echo "v1 $MODE"; exec sleep 1000';
const V2 = 'echo "v2 $MODE"; exec sleep 1000';

let agents: AgentProcess[] = [];
let daemons: Daemon[] = [];
let inProcess: TestAgent[] = [];

afterEach(async () => {
  await Promise.all(daemons.map((d) => d.client.close()));
  await Promise.all(agents.map((a) => a.cleanup()));
  await Promise.all(inProcess.map((a) => a.cleanup()));
  agents = [];
  daemons = [];
  inProcess = [];
});

async function start(app?: AppSpec): Promise<{ agent: AgentProcess; daemon: Daemon }> {
  const agent = await AgentProcess.start({ app });
  agents.push(agent);
  const daemon = await Daemon.connect(agent);
  daemons.push(daemon);
  return { agent, daemon };
}

describe('APP_SPEC to a running agent', () => {
  it('announces the capability; a different spec restarts the app once, with it; status reports it', async () => {
    const { daemon } = await start({ run: V1, env: { MODE: 'a' } });
    expect(daemon.client.hello.capabilities).toEqual(expect.arrayContaining([Capability.SUPERVISOR, Capability.APP_SPEC]));
    await daemon.commit();
    await daemon.nth('running', 1, V1);
    await daemon.until('v1 output', () => daemon.stdout.join('').includes('v1 a\n'));

    expect(await daemon.client.sendAppSpec({ run: V2, env: { MODE: 'b' } })).toBe(true);
    const running = await daemon.nth('running', 1, V2);
    await daemon.until('v2 output', () => daemon.stdout.join('').includes('v2 b\n'));
    expect(running.restarts).toBe(1);
    expect(daemon.systemText()).toContain('the app spec changed (run, env)');
    expect(daemon.systemText()).toContain('restarting (the app spec changed)');

    // The same spec again (env in another order is the same spec), then a
    // verify-only commit: that APPLIED comes after the spec was handled, and
    // the spec changed nothing: no line about it, no stop, no start.
    const before = { starting: daemon.count('starting'), stopping: daemon.count('stopping') };
    expect(await daemon.client.sendAppSpec({ env: { MODE: 'b' }, run: V2 })).toBe(true);
    await daemon.commit();
    expect(daemon.systemText().match(/the app spec changed \(/g)).toHaveLength(1);
    expect({ starting: daemon.count('starting'), stopping: daemon.count('stopping') }).toEqual(before);
    expect(daemon.statuses[daemon.statuses.length - 1]).toMatchObject({ state: 'running', message: V2, restarts: 1 });
  });

  it('re-runs assemble when assemble changed, not when only env changed', async () => {
    const { agent, daemon } = await start({ run: V1, assemble: 'echo one >> assembled', env: { MODE: 'a' } });
    const assembled = () => (existsSync(join(agent.root, 'assembled')) ? readFileSync(join(agent.root, 'assembled'), 'utf8') : '');
    await daemon.commit();
    await daemon.nth('running', 1, V1);
    expect(assembled()).toBe('one\n');

    await daemon.client.sendAppSpec({ run: V1, assemble: 'echo two >> assembled', env: { MODE: 'a' } });
    await daemon.nth('running', 2, V1);
    expect(assembled()).toBe('one\ntwo\n');
    expect(daemon.systemText()).toContain('assembling (the assemble command changed)');

    await daemon.client.sendAppSpec({ run: V1, assemble: 'echo two >> assembled', env: { MODE: 'c' } });
    await daemon.nth('running', 3, V1);
    await daemon.until('the new env', () => daemon.stdout.join('').includes('v1 c\n'));
    expect(assembled()).toBe('one\ntwo\n');
    expect(daemon.count('assembling')).toBe(2);
  });

  it('an agent started without any spec syncs and waits; a spec then starts the app, once', async () => {
    const { daemon } = await start();
    await daemon.commit();
    await daemon.nth('no-command', 1);
    await daemon.client.sendAppSpec({ run: V1, env: { MODE: 'late' } });
    const running = await daemon.nth('running', 1, V1);
    expect(running.restarts).toBe(0);
    await daemon.until('the app output', () => daemon.stdout.join('').includes('v1 late\n'));
    expect(daemon.count('starting')).toBe(1);
  });

  it('a spec that comes before the first sync only waits for it', async () => {
    const { daemon } = await start();
    await daemon.client.sendAppSpec({ run: V2, env: { MODE: 'early' } });
    // Ordered after the spec on the wire: the agent has handled it, and started nothing.
    await daemon.until('the spec line', () => daemon.systemText().includes('the app spec changed (run, env)'));
    expect(daemon.statuses.map((s) => s.state)).toEqual(['waiting']);
    await daemon.commit();
    await daemon.nth('running', 1, V2);
    await daemon.until('the app output', () => daemon.stdout.join('').includes('v2 early\n'));
    expect(daemon.count('starting')).toBe(1);
  });

  it('a spec sent inside a batch is used at its commit: one restart for both', async () => {
    const { daemon } = await start({ run: V1, env: { MODE: 'a' } });
    await daemon.commit();
    await daemon.nth('running', 1, V1);
    const applied = daemon.client.applied(100);
    await daemon.client.send(encodeFrame(Kind.BATCH_BEGIN, { batch: 100, ops: 1, bytes: 1 }));
    await daemon.client.send(encodeFrame(Kind.APP_SPEC, { run: V2, env: { MODE: 'b' } }));
    await daemon.client.send(encodeFrame(Kind.FILE, { batch: 100, path: 'x.txt', size: 1, mode: 0o644, mtime: 1, hash: '0000000000000000', offset: 0 }, new Uint8Array([120])));
    await daemon.client.send(encodeFrame(Kind.COMMIT, { batch: 100 }));
    await applied;
    await daemon.nth('running', 1, V2);
    await daemon.commit();
    expect(daemon.count('starting')).toBe(2);
    expect(daemon.systemText()).toContain('restarting (the app spec changed)');
  });
});

describe('bad APP_SPEC frames', () => {
  it.each([
    ['an unknown field', { run: 'x', workdir: '/etc' }],
    ['a run that is not a command line', { run: 7 }],
    ['an env value that is not a string', { env: { PORT: 8080 } }],
  ])('%s: ERROR SKIFF_E_FRAME_MALFORMED, then the connection closes (1007); the app is untouched', async (_name, header) => {
    const { agent, daemon } = await start({ run: V1, env: { MODE: 'a' } });
    await daemon.commit();
    const running = await daemon.nth('running', 1, V1);
    const bad = await TestClient.ready(agent.url, agent.token);
    bad.send(rawFrame(Kind.APP_SPEC, header));
    const error = await bad.next(Kind.ERROR);
    expect(error.header.code).toBe(ErrorCode.FRAME_MALFORMED);
    expect((await bad.waitClosed()).code).toBe(1007);
    // The bad connection had replaced the daemon's; the app kept running as it was.
    await agent.until('the close logged', () => agent.lines.some((l) => l.includes(ErrorCode.FRAME_MALFORMED)));
    const again = await Daemon.connect(agent);
    daemons.push(again);
    await again.nth('running', 1);
    expect(again.statuses[0]).toMatchObject({ state: 'running', pid: running.pid, message: V1, restarts: 0 });
  });

  it('before the daemon\'s HELLO: ERROR SKIFF_E_PROTOCOL_STATE, closed with 1002', async () => {
    const { agent } = await start({ run: V1 });
    const c = await TestClient.open(agent.url, agent.token);
    await c.next(Kind.HELLO);
    c.send(encodeFrame(Kind.APP_SPEC, { run: V2 }));
    const error = await c.next(Kind.ERROR);
    expect(error.header.code).toBe(ErrorCode.PROTOCOL_STATE);
    expect((await c.waitClosed()).code).toBe(1002);
  });
});

describe('AgentClient.sendAppSpec', () => {
  it('sends nothing to an agent that does not announce the capability, and the connection stays up', async () => {
    const t = await startTestAgent();
    inProcess.push(t);
    const client = await AgentClient.connect(t.url, t.token);
    expect(client.hello.capabilities).not.toContain(Capability.APP_SPEC);
    expect(await client.sendAppSpec({ run: V1 })).toBe(false);
    expect(await client.inventory()).toEqual([]);
    await client.close();
  });

  it('refuses a value that is not an app spec with SKIFF_E_CONFIG, before sending', async () => {
    const { daemon } = await start({ run: V1 });
    await expect(daemon.client.sendAppSpec({ run: '' })).rejects.toMatchObject({ code: ErrorCode.CONFIG });
    await daemon.commit();
  });
});
