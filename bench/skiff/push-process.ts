import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';
import { runTimed } from '../proc.ts';
import type { LocalAgent, PushResult } from './push-api.ts';

/** What a push in its own process reports (see push-child.ts). */
export interface ChildPush {
  importMs: number;
  pushMs: number;
  scanMs: number;
  connectMs: number;
  transferMs: number;
  peakMiB: number;
  warnings: string[];
  result: Omit<PushResult, 'problems'> & { problems: number };
  /** Spawn to exit, as the parent saw it: node start, tsx, import and push. */
  wallMs: number;
}

const PUSH_CHILD = join(REPO_ROOT, 'bench/skiff/push-child.ts');

/** `agent`: where the agent listens and its token (a local agent, or one in a container). */
export async function pushInChild(dir: string, agent: Pick<LocalAgent, 'url' | 'token'>): Promise<ChildPush> {
  const { ms, stdout } = await runTimed(process.execPath, ['--import', 'tsx', PUSH_CHILD, dir], {
    cwd: REPO_ROOT,
    env: { ...process.env, SKIFF_BENCH_AGENT_URL: agent.url, SKIFF_BENCH_AGENT_TOKEN: agent.token },
  });
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return { ...(JSON.parse(line) as Omit<ChildPush, 'wallMs'>), wallMs: ms };
  } catch {
    throw new Error(`the push process printed no result: ${stdout.slice(-500)}`);
  }
}
