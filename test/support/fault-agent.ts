import { randomBytes } from 'node:crypto';
import { startAgent, type AgentHandle } from '@skiff/agent';

/**
 * An in-process agent whose connections can be awaited: a test that cut a
 * link must know the agent has seen the close (and aborted the batch) before
 * it looks at the root. The agent's own log lines say when a connection was
 * accepted and when it closed.
 */
export const AGENT_WAIT_MS = 10_000;

export class FaultAgent {
  readonly logs: string[] = [];
  private waiters: Array<() => void> = [];
  handle!: AgentHandle;

  private constructor(
    readonly root: string,
    readonly token: string,
  ) {}

  static async start(root: string): Promise<FaultAgent> {
    const agent = new FaultAgent(root, randomBytes(32).toString('hex'));
    agent.handle = await startAgent({ root, token: agent.token, port: 0, log: (line) => agent.onLog(line) });
    return agent;
  }

  get url(): string {
    return `ws://${this.handle.host}:${this.handle.port}/`;
  }

  /** Resolves once every connection the agent accepted has closed. */
  idle(): Promise<void> {
    const count = (what: RegExp) => this.logs.filter((l) => what.test(l)).length;
    const done = () => count(/: accepted$/) <= count(/: closed \(/);
    return new Promise((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(() => reject(new Error(`the agent did not close its connections within ${AGENT_WAIT_MS} ms:\n${this.logs.slice(-10).join('\n')}`)), AGENT_WAIT_MS);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private onLog(line: string): void {
    this.logs.push(line);
    for (const w of [...this.waiters]) w();
  }
}
