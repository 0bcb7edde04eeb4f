import { spawn, type ChildProcess } from 'node:child_process';
import type { ListenSpec } from './launcher.ts';

/**
 * One container's process on this machine: spawned from its plan, its
 * output kept (the last lines, for `FakeKube.output` and failure messages),
 * the port it listens on learned from its stdout, stopped the way the
 * kubelet stops a container (SIGTERM, then SIGKILL after the grace period).
 *
 * stdin is a pipe nobody writes: it closes when the test process dies,
 * however it dies, which a skiff agent started with
 * SKIFF_AGENT_EXIT_WITH_STDIN=1 takes as its cue to exit.
 */

/** Lines of output kept per container. */
export const OUTPUT_TAIL_LINES = 200;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  listen?: ListenSpec;
}

export class ContainerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  /** Set once the process said which port it listens on. */
  hostPort: number | undefined;
  readonly output: string[] = [];
  private readonly portWaiters = new Set<(port: number) => void>();

  constructor(spec: ProcessSpec, onOutput?: (stream: 'stdout' | 'stderr', line: string) => void) {
    this.child = spawn(spec.command, spec.args, { env: spec.env, cwd: spec.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
      // A command that cannot start is a container that exits: 127/128 as a shell would say.
      this.child.once('error', (err) => {
        this.keep('stderr', `fake-kube: cannot start ${spec.command}: ${err.message}`, onOutput);
        resolve({ code: 128, signal: null });
      });
    });
    this.child.stdin?.on('error', () => undefined);
    this.readLines('stdout', (line) => {
      if (this.hostPort === undefined && spec.listen !== undefined) {
        const port = spec.listen.hostPortFromStdout(line);
        if (port !== undefined) {
          this.hostPort = port;
          for (const w of this.portWaiters) w(port);
          this.portWaiters.clear();
        }
      }
      this.keep('stdout', line, onOutput);
    });
    this.readLines('stderr', (line) => this.keep('stderr', line, onOutput));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined;
  }

  /** Resolves with the listening port once known; rejects if the process exits first. */
  listening(): Promise<number> {
    if (this.hostPort !== undefined) return Promise.resolve(this.hostPort);
    return new Promise((resolve, reject) => {
      this.portWaiters.add(resolve);
      void this.exited.then((e) => {
        if (this.hostPort === undefined) reject(new Error(`the process exited (${e.signal ?? `code ${e.code}`}) before it listened`));
      });
    });
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL once `graceMs` has passed; resolves when the process is gone. */
  async stop(graceMs: number): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private keep(stream: 'stdout' | 'stderr', line: string, onOutput?: (stream: 'stdout' | 'stderr', line: string) => void): void {
    this.output.push(line);
    if (this.output.length > OUTPUT_TAIL_LINES) this.output.splice(0, this.output.length - OUTPUT_TAIL_LINES);
    onOutput?.(stream, line);
  }

  private readLines(stream: 'stdout' | 'stderr', onLine: (line: string) => void): void {
    let buffered = '';
    const s = stream === 'stdout' ? this.child.stdout : this.child.stderr;
    s?.setEncoding('utf8');
    s?.on('data', (chunk: string) => {
      buffered += chunk;
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
      }
    });
    s?.on('end', () => {
      if (buffered !== '') onLine(buffered);
    });
  }
}
