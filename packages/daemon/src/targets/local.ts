import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { AGENT_STOP_GRACE_MS, APP_CONFIG_ENV, EXIT_WITH_STDIN_ENV, ErrorCode, SkiffError, TOKEN_ENV, type AppSpec } from '@skiff/protocol';
import { agentCommand } from './agent-entry.ts';

/** How long the agent may take to print its listening line. */
export const AGENT_START_TIMEOUT_MS = 15_000;
/** Bytes of token entropy (the protocol asks for at least 16). */
export const TOKEN_BYTES = 32;
/** Lines of the agent's stderr kept to explain a failed start. */
const STDERR_TAIL_LINES = 20;

export interface LocalAgent {
  url: string;
  token: string;
  root: string;
  pid: number;
  child: ChildProcess;
  /** Stops the agent (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

export interface LocalAgentOptions {
  root: string;
  /** What the agent's supervisor runs (SKIFF_APP). */
  appConfig?: AppSpec;
  /** Extra environment for the agent and its app. */
  env?: Record<string, string>;
  /** Receives the agent's stdout/stderr after the listening line (the app's output, agent logs). */
  onOutput?(stream: 'stdout' | 'stderr', data: Buffer): void;
}

/** Default private root for a project: $XDG_CACHE_HOME/skiff/<name>-<hash>/root. */
export function defaultLocalRoot(projectDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const abs = resolve(projectDir);
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const id = createHash('sha256').update(abs).digest('hex').slice(0, 12);
  return join(cache, 'skiff', `${basename(abs) || 'root'}-${id}`, 'root');
}

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('hex');
}

/**
 * The local target: the agent runs as a child process of the daemon (or of a
 * one-shot push), rooted in a private directory on this machine, listening on
 * loopback only. The token reaches it through its environment, never argv.
 */
export async function startLocalAgent(opts: LocalAgentOptions): Promise<LocalAgent> {
  const root = resolve(opts.root);
  await mkdir(root, { recursive: true });
  const token = newToken();
  const { command, args } = agentCommand();
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, [TOKEN_ENV]: token, [EXIT_WITH_STDIN_ENV]: '1' };
  if (opts.appConfig !== undefined) env[APP_CONFIG_ENV] = JSON.stringify(opts.appConfig);
  else delete env[APP_CONFIG_ENV];
  // stdin is a pipe we never write: it closes when this process dies, however
  // it dies, and the agent then stops its app and exits (EXIT_WITH_STDIN_ENV).
  const child = spawn(command, [...args, '--root', root, '--host', '127.0.0.1', '--port', '0'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderrTail: string[] = [];
  child.stderr!.on('data', (data: Buffer) => {
    stderrTail.push(...data.toString().split('\n').filter(Boolean));
    stderrTail.splice(0, Math.max(0, stderrTail.length - STDERR_TAIL_LINES));
    opts.onOutput?.('stderr', data);
  });

  const listening = await new Promise<{ port: number; pid: number }>((resolvePromise, reject) => {
    let buffered = '';
    let ready = false;
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      const tail = stderrTail.length ? `\n${stderrTail.join('\n')}` : '';
      reject(new SkiffError(ErrorCode.AGENT_START, `the local agent ${why}${tail}`));
    };
    const timer = setTimeout(() => fail(`did not start listening within ${AGENT_START_TIMEOUT_MS} ms`), AGENT_START_TIMEOUT_MS);
    child.on('error', (err) => fail(`could not be started: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (!ready) fail(`exited before listening (${signal ?? `exit code ${code}`})`);
    });
    child.stdout!.on('data', (data: Buffer) => {
      if (ready) {
        opts.onOutput?.('stdout', data);
        return;
      }
      buffered += data.toString();
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      const line = buffered.slice(0, nl);
      const rest = buffered.slice(nl + 1);
      try {
        const msg = JSON.parse(line) as { event?: string; port?: number; pid?: number };
        if (msg.event !== 'listening' || typeof msg.port !== 'number') throw new Error('unexpected first line');
        ready = true;
        clearTimeout(timer);
        if (rest) opts.onOutput?.('stdout', Buffer.from(rest));
        resolvePromise({ port: msg.port, pid: msg.pid ?? child.pid! });
      } catch {
        fail(`printed something other than its listening line: ${line.slice(0, 200)}`);
      }
    });
  });

  const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
  return {
    url: `ws://127.0.0.1:${listening.port}`,
    token,
    root,
    pid: listening.pid,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), AGENT_STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
