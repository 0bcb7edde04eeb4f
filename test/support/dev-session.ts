import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIFF_BIN, runSkiff } from './run-cli.ts';

/**
 * A user's terminals against a private daemon: each test gets its own runtime
 * directory (socket, pid file, log) so daemons of parallel tests never meet.
 */
export async function privateRuntime(): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-rt-'));
  await chmod(dir, 0o700);
  return { dir, env: { SKIFF_RUNTIME_DIR: dir, XDG_CACHE_HOME: join(dir, 'cache') } };
}

export interface DevEvent {
  event: string;
  data: Record<string, any>;
}

/** A `skiff dev --json` terminal whose events can be awaited. */
export class DevTerminal {
  readonly events: DevEvent[] = [];
  readonly child: ChildProcess;
  private waiters: Array<() => void> = [];
  stderr = '';

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [SKIFF_BIN, 'dev', ...args, '--json'], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) this.events.push(JSON.parse(line) as DevEvent);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Resolves with the first event (from `from` on) matching, or rejects at the deadline. */
  async waitFor(match: (e: DevEvent) => boolean, timeoutMs = 30_000, from = 0): Promise<DevEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline || this.exited) {
        throw new Error(`no matching event within ${timeoutMs} ms; got ${this.events.map((e) => e.event).join(', ')}\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  finished(reason?: string): DevEvent[] {
    return this.events.filter((e) => e.event === 'sync.finished' && (reason === undefined || e.data.reason === reason));
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async detach(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGINT');
    await exited;
  }
}

export async function stopDaemon(env: NodeJS.ProcessEnv): Promise<void> {
  await runSkiff(['daemon', 'stop'], { env });
}
