import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_CONFIG_ENV, TOKEN_ENV, type AppSpec } from '@skiff/protocol';
import { Waiters } from './waiters.ts';

/**
 * The skiff-agent program as a separate process, the way the local target
 * starts it (token in the environment, port 0, its own temp root), from its
 * TypeScript source: what these tests check is the source, not a bundle
 * built from some other checkout. Output lines are kept for diagnostics and
 * for waiting on what the agent says.
 */
const MAIN = fileURLToPath(new URL('../../packages/agent/src/main.ts', import.meta.url));
export const AGENT_PROCESS_WAIT_MS = 20_000;

export interface AgentProcessOptions {
  /** SKIFF_APP; absent: the agent starts with no app spec. */
  app?: AppSpec;
  env?: Record<string, string>;
}

export class AgentProcess {
  /** stdout lines as they are, stderr lines prefixed with "[stderr] ". */
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly root: string;
  readonly token = randomBytes(32).toString('hex');
  url = '';
  private readonly waiters = new Waiters(() => `agent output:\n${this.lines.join('\n')}`);
  private readonly child: ChildProcess;

  private constructor(
    readonly base: string,
    options: AgentProcessOptions,
  ) {
    this.root = join(base, 'root');
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, [TOKEN_ENV]: this.token };
    if (options.app === undefined) delete env[APP_CONFIG_ENV];
    else env[APP_CONFIG_ENV] = JSON.stringify(options.app);
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--root', this.root, '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.collect(this.child.stdout!, '');
    this.collect(this.child.stderr!, '[stderr] ');
    void this.exited.then(() => this.wake());
  }

  static async start(options: AgentProcessOptions = {}): Promise<AgentProcess> {
    const agent = new AgentProcess(mkdtempSync(join(tmpdir(), 'skiff-agent-proc-')), options);
    try {
      const line = await agent.until('the listening line', () => agent.lines.find((l) => l.startsWith('{"event":"listening"')) ?? (agent.child.exitCode !== null && 'exited'));
      if (line === 'exited') throw new Error(`the agent exited before listening:\n${agent.lines.join('\n')}`);
      agent.url = `ws://127.0.0.1:${(JSON.parse(line) as { port: number }).port}/`;
      return agent;
    } catch (err) {
      await agent.cleanup();
      throw err;
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the predicate's first truthy value, checked on every line; rejects after `ms` with the output. */
  until<T>(what: string, predicate: () => T | undefined | null | false, ms = AGENT_PROCESS_WAIT_MS): Promise<T> {
    return this.waiters.until(what, predicate, ms);
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGKILL (if still running) and removal of the temp dir. */
  async cleanup(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
    rmSync(this.base, { recursive: true, force: true });
  }

  private collect(stream: NodeJS.ReadableStream, prefix: string): void {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      buffered += text;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) this.lines.push(prefix + line);
      this.wake();
    });
  }

  private wake(): void {
    this.waiters.poke();
  }
}
