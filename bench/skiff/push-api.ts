import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';

import type { AgentClient, LocalAgent, PushResult, runPush, startLocalAgent } from '@skiff/daemon';

/**
 * The part of @skiff/daemon the push scenarios use, loaded dynamically so the
 * benchmark reports a figure as missing, rather than failing, when the
 * daemon does not load.
 */
export type { LocalAgent, PushResult };

export interface PushApi {
  runPush: typeof runPush;
  startLocalAgent: typeof startLocalAgent;
  AgentClient: typeof AgentClient;
}

const AGENT_BUNDLE = join(REPO_ROOT, 'packages/agent/dist/skiff-agent.js');
/** Sources the agent bundle is built from: a bundle older than any of them is stale. */
const AGENT_SOURCES = ['packages/agent/src', 'packages/protocol/src'].map((dir) => join(REPO_ROOT, dir));
/** The local target's switch (targets/agent-entry.ts) to run the agent from source even when a bundle exists. */
const FROM_SOURCE_ENV = 'SKIFF_AGENT_FROM_SOURCE';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Decides how the local target starts the agent in this run, once, before
 * any agent starts: the bundle when it is newer than every agent and protocol
 * source, else the TypeScript source (a stale bundle would measure, or break
 * on, code that is no longer there). Returns a sentence for the report.
 */
export function chooseAgentBuild(): string {
  if (process.env[FROM_SOURCE_ENV] === '1') return 'from source via tsx (SKIFF_AGENT_FROM_SOURCE=1)';
  if (!existsSync(AGENT_BUNDLE)) return 'from source via tsx (no bundle: the workspace is not built)';
  const bundled = statSync(AGENT_BUNDLE).mtimeMs;
  if (AGENT_SOURCES.some((dir) => existsSync(dir) && newestMtime(dir) > bundled)) {
    process.env[FROM_SOURCE_ENV] = '1';
    return 'from source via tsx (the bundle in packages/agent/dist is older than its sources; run npm run build)';
  }
  return 'bundled (packages/agent/dist)';
}

let agentBuild: string | undefined;

/** How agents start in this run, for the notes under each figure. */
export function agentMode(): string {
  agentBuild ??= chooseAgentBuild();
  return agentBuild;
}

/** Loads the push API; throws an Error whose message says what is missing. */
export async function loadPushApi(): Promise<PushApi> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import('@skiff/daemon')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`@skiff/daemon does not load: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const absent = ['runPush', 'startLocalAgent', 'AgentClient'].filter((name) => mod[name] === undefined);
  if (absent.length) throw new Error(`@skiff/daemon does not export ${absent.join(', ')} yet`);
  return mod as unknown as PushApi;
}
