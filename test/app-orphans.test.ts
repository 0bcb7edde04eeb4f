import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Kind, LogStream, encodeFrame, type AppStatusHeader } from '@skiff/protocol';
import { AgentClient } from '@skiff/daemon';
import { findLauncher } from '../packages/agent/src/supervisor/launcher.ts';
import { AgentProcess } from './support/agent-process.ts';

/**
 * An agent killed with SIGKILL takes its app with it: every process of the
 * app's process group (skiff-launch, the shell, node, node's own child) is
 * gone, and the port the app listened on is free for the next agent's app.
 * This is the local target's case: the agent is a child process of the
 * daemon, not PID 1 of a container whose death would end its namespace.
 */

const WAIT_MS = 20_000;
const POLL_MS = 25;
const NODE = JSON.stringify(process.execPath);

/** Listens on a free port, spawns a grandchild, and reports both; SIGTERM-proof when STUBBORN=1. */
const APP = `
const { createServer } = require('node:http');
const { spawn } = require('node:child_process');
if (process.env.STUBBORN === '1') process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
const grandchild = spawn('sleep', ['1000'], { stdio: 'ignore' });
const server = createServer((req, res) => res.end('up'));
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port + ' grandchild ' + grandchild.pid));
`;

const launcher = findLauncher();
if (!launcher.ok) console.warn(`skipping the no-orphan tests: ${launcher.reason}`);

interface Proc {
  pid: number;
  comm: string;
  state: string;
  pgrp: number;
}

function procs(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = text.lastIndexOf(')');
      const [state, , pgrp] = text.slice(close + 2).split(' ');
      out.push({ pid: Number(name), comm: text.slice(text.indexOf('(') + 1, close), state, pgrp: Number(pgrp) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The processes of group `pgid` that still run (a zombie has finished running and holds no port). */
const running = (pgid: number) => procs().filter((p) => p.pgrp === pgid && p.state !== 'Z');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function until<T>(what: string, probe: () => T | Promise<T>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

let agents: AgentProcess[] = [];
let groups: number[] = [];

afterEach(async () => {
  // The control case leaves its app behind on purpose: end it here.
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.all(agents.map((a) => a.cleanup()));
  agents = [];
  groups = [];
});

/** Starts an agent running APP, syncs once, and waits until the app listens. */
async function startApp(env: Record<string, string> = {}) {
  const agent = await AgentProcess.start({ app: { run: `${NODE} app.js`, env: { STUBBORN: env.STUBBORN ?? '0' } }, env });
  agents.push(agent);
  const statuses: AppStatusHeader[] = [];
  let stdout = '';
  const client = await AgentClient.connect(agent.url, agent.token, {
    appStatus: (status) => statuses.push(status),
    log: (header, data) => {
      if (header.stream === LogStream.STDOUT) stdout += Buffer.from(data).toString();
    },
  });
  let batch = 0;
  const commit = async (files: Record<string, string>) => {
    batch += 1;
    const applied = client.applied(batch);
    await client.send(encodeFrame(Kind.BATCH_BEGIN, { batch, ops: Object.keys(files).length, bytes: 0 }));
    for (const [path, text] of Object.entries(files)) {
      const data = Buffer.from(text);
      await client.send(encodeFrame(Kind.FILE, { batch, path, size: data.length, mode: 0o644, mtime: Date.now(), hash: '0000000000000000', offset: 0 }, data));
    }
    await client.send(encodeFrame(Kind.COMMIT, { batch }));
    await applied;
  };
  await commit({ 'app.js': APP });
  const match = (await until('the app to listen', () => /listening (\d+) grandchild (\d+)/.exec(stdout)))!;
  const [port, grandchild] = [Number(match[1]), Number(match[2])];
  const appStatus = (await until('a running status', () => statuses.find((s) => s.state === 'running')))!;
  const shell = procs().find((p) => p.pid === appStatus.pid)!;
  groups.push(shell.pgrp);
  return { agent, client, statuses, commit, port, grandchild, pgid: shell.pgrp, stdout: () => stdout };
}

describe.skipIf(!launcher.ok)('no orphans: an agent killed with SIGKILL takes its app along', () => {
  it('the whole process group goes and the port is free', async () => {
    const { agent, port, grandchild, pgid } = await startApp();
    const members = running(pgid);
    expect(members.map((p) => p.comm).sort()).toEqual(['node', 'sh', 'skiff-launch', 'sleep']);
    expect(members.some((p) => p.pid === grandchild)).toBe(true);
    expect(await portFree(port)).toBe(false);

    agent.kill('SIGKILL');
    await agent.exited;
    await until('every process of the group to be gone', () => running(pgid).length === 0);
    await until(`port ${port} to be free`, () => portFree(port));
  });

  it('also in the middle of a stop: an app that ignores SIGTERM, killed with the agent during its grace period', async () => {
    const { agent, statuses, commit, port, pgid, stdout } = await startApp({ STUBBORN: '1' });
    // A change restarts the app: SIGTERM, which node ignores; its shell and
    // the sleep die of it at once; node has the grace period (5 s) ahead of it.
    await commit({ 'touched.txt': 'x' });
    await until('the stop to begin', () => statuses.some((s) => s.state === 'stopping') && stdout().includes('ignoring SIGTERM'));
    await until('the shell to die of SIGTERM', () => !running(pgid).some((p) => p.comm === 'sh'));
    expect(running(pgid).map((p) => p.comm).sort()).toEqual(['node', 'skiff-launch']);

    agent.kill('SIGKILL');
    await agent.exited;
    await until('every process of the group to be gone', () => running(pgid).length === 0);
    await until(`port ${port} to be free`, () => portFree(port));
  });

  it('control: without skiff-launch the app outlives the agent and keeps its port', async () => {
    const { agent, port, pgid } = await startApp({ SKIFF_AGENT_LAUNCHER: '/nonexistent/skiff-launch' });
    expect(agent.lines.join('\n')).toMatch(/warning: the app runs under plain \/bin\/sh/);
    agent.kill('SIGKILL');
    await agent.exited;
    // The agent is gone for good (reaped), and its app still runs and holds the port.
    expect(running(pgid).map((p) => p.comm).sort()).toEqual(['node', 'sh', 'sleep']);
    expect(await portFree(port)).toBe(false);
  });
});
