import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultAgent } from './fault-agent.ts';
import { mountTmpfs, resizeTmpfs, unmountTmpfs } from './fault-tmpfs.ts';

/**
 * An in-process agent whose root is on a tmpfs of its own (`bytes` large),
 * with a project directory beside it, for tests that fill the agent's disk
 * for real. close() stops the agent, unmounts and removes it all, whatever
 * part of start() got done.
 */
export class AgentOnSmallDisk {
  agent: FaultAgent | null = null;
  private mounted = false;

  private constructor(
    readonly base: string,
    readonly disk: string,
    readonly project: string,
    readonly agentRoot: string,
  ) {}

  static async start(prefix: string, bytes: number): Promise<AgentOnSmallDisk> {
    const base = await mkdtemp(join(tmpdir(), prefix));
    const disk = join(base, 'disk');
    const small = new AgentOnSmallDisk(base, disk, join(base, 'project'), join(disk, 'root'));
    await mkdir(disk);
    await mountTmpfs(disk, bytes);
    small.mounted = true;
    small.agent = await FaultAgent.start(small.agentRoot);
    return small;
  }

  /** Grows (or shrinks) the disk in place. */
  resize(bytes: number): Promise<void> {
    return resizeTmpfs(this.disk, bytes);
  }

  async close(): Promise<void> {
    await this.agent?.close();
    if (this.mounted) await unmountTmpfs(this.disk);
    await rm(this.base, { recursive: true, force: true });
  }
}
