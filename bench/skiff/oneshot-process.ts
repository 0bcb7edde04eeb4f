import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';
import { runTimed } from '../proc.ts';
import type { PushResult } from './push-api.ts';

/** What a one-shot push in its own process reports (see oneshot-child.ts). */
export interface OneShot {
  importMs: number;
  pushMs: number;
  /** Spawn of the agent to its listening line, inside pushMs; 0 for an agent kept running. */
  agentStartMs: number;
  /** From the push asking for its connection to the handshake's end (agent start included). */
  connectMs: number;
  /** From the push's start to the end of its scan, which runs while the agent starts. */
  scannedMs: number;
  stopMs: number;
  /** Bytes of every websocket message the push sent. */
  wireBytes: number;
  peakMiB: number;
  warnings: string[];
  result: Omit<PushResult, 'problems'> & { problems: number };
  /** Spawn to exit, as the parent saw it. */
  wallMs: number;
}

/** Where the push finds its agent: started fresh on `root` inside the push, or one that keeps running. */
export type OneShotAgent = { root: string } | { url: string; token: string };

const CHILD = join(REPO_ROOT, 'bench/skiff/oneshot-child.ts');

export async function oneShotInChild(dir: string, agent: OneShotAgent): Promise<OneShot> {
  const env: NodeJS.ProcessEnv =
    'root' in agent
      ? { ...process.env, SKIFF_BENCH_AGENT_ROOT: agent.root }
      : { ...process.env, SKIFF_BENCH_AGENT_URL: agent.url, SKIFF_BENCH_AGENT_TOKEN: agent.token };
  const { ms, stdout } = await runTimed(process.execPath, ['--import', 'tsx', CHILD, dir], { cwd: REPO_ROOT, env });
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return { ...(JSON.parse(line) as Omit<OneShot, 'wallMs'>), wallMs: ms };
  } catch {
    throw new Error(`the push process printed no result: ${stdout.slice(-500)}`);
  }
}
