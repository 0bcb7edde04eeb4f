import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOKEN_ENV } from '@skiff/protocol';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';

/**
 * The agent token of a real `skiff dev` session: it reaches the agent through
 * its environment and nowhere else. Not on any command line, not in the
 * app's environment, not in the daemon's log (at debug level), not in
 * anything a terminal prints. And the agent listens on loopback only.
 */
const procText = (pid: number, file: 'cmdline' | 'environ') => readFileSync(`/proc/${pid}/${file}`).toString('utf8').split('\0');

/** Local addresses of the sockets listening on `port`, from /proc/net/tcp and tcp6, as the kernel writes them (hex). */
function listenersOn(port: number): string[] {
  const LISTEN = '0A';
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== LISTEN) continue;
      const [address, hexPort] = cols[1].split(':');
      if (parseInt(hexPort, 16) === port) found.push(address);
    }
  }
  return found;
}
/** 127.0.0.1 as /proc/net/tcp writes it: one little-endian 32-bit number. */
const LOOPBACK_HEX = '0100007F';

describe.skipIf(process.platform !== 'linux')('the agent token in a real session', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let runtimeDir: string;
  let project: string;
  let terminal: DevTerminal | undefined;

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-daemon-sec-'));
    const runtime = await privateRuntime();
    runtimeDir = runtime.dir;
    // Debug level: the most the daemon ever writes to its log.
    env = { ...runtime.env, SKIFF_LOG_LEVEL: 'debug' };
    project = join(work, 'project');
    await mkdir(project, { recursive: true });
    // The app prints its environment, so a leak would also surface in its output.
    await writeFile(join(project, 'skiff.yaml'), 'name: sec\nrun: env; exec sleep 600\n');
    await writeFile(join(project, 'a.txt'), 'a\n');
  });
  afterEach(async () => {
    await terminal?.detach();
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
    await rm(runtimeDir, { recursive: true, force: true });
  });

  it('travels only in the agent environment and the agent listens on 127.0.0.1', async () => {
    terminal = new DevTerminal([project, '--local-root', join(work, 'agent-root')], env);
    await terminal.waitFor((e) => e.event === 'app.log' && String(e.data.text).includes('PATH='));

    const status = jsonOf<{ session: { root: string; agent: { pid: number; url: string }; app: { pid: number } } }>(await runSkiff(['status', project, '--json'], { env }));
    const { agent, app } = status.session;
    const token = procText(agent.pid, 'environ').find((v) => v.startsWith(`${TOKEN_ENV}=`))?.slice(TOKEN_ENV.length + 1);
    expect(token, 'the agent receives its token in its environment').toMatch(/^[0-9a-f]{64}$/);

    const daemon = jsonOf<{ pid: number }>(await runSkiff(['daemon', 'status', '--json'], { env }));
    const outputs = [
      ['the agent command line', procText(agent.pid, 'cmdline').join(' ')],
      ['the daemon command line', procText(daemon.pid, 'cmdline').join(' ')],
      ['the daemon environment', procText(daemon.pid, 'environ').join('\n')],
      ['the app environment', procText(app.pid, 'environ').join('\n')],
      ['the app command line', procText(app.pid, 'cmdline').join(' ')],
      ['skiff status', (await runSkiff(['status', project, '--json'], { env })).stdout],
      ['skiff sessions', (await runSkiff(['sessions', '--json'], { env })).stdout],
      ['skiff logs', (await runSkiff(['logs', project], { env })).stdout],
    ] as const;
    for (const [where, text] of outputs) expect(text, where).not.toContain(token);
    // Each of them said something: a failed command would prove nothing.
    expect(outputs.map(([where, text]) => [where, text.length > 0])).toEqual(outputs.map(([where]) => [where, true]));
    expect(outputs[7][1]).toContain('PATH=');
    expect(procText(app.pid, 'environ').filter((v) => v.startsWith(`${TOKEN_ENV}=`))).toEqual([]);

    const port = Number(new URL(agent.url).port);
    expect(listenersOn(port)).toEqual([LOOPBACK_HEX]);

    // After the session and the daemon are gone, what they wrote is complete.
    await terminal.detach();
    expect((await runSkiff(['stop', project], { env })).code).toBe(0);
    await stopDaemon(env);
    const log = await readFile(join(runtimeDir, 'skiffd.log'), 'utf8');
    expect(log).toContain('debug');
    expect(log, 'the daemon log').not.toContain(token);
    expect(terminal.stderr, 'the terminal').not.toContain(token);
    const printed = JSON.stringify(terminal.events);
    expect(printed).toContain('PATH=');
    expect(printed, 'the terminal').not.toContain(token);
  });
});
