import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';

/**
 * The part of @skiff/daemon the push scenarios use, written down structurally
 * so that the benchmark states exactly what it relies on and keeps running
 * (reporting the figure as missing) while that API is still moving:
 *
 *   runPush({ dir, connect, timeoutMs, onProgress?, onWarning? }) → PushResult
 *   startLocalAgent({ root, appConfig?, env?, onOutput? }) → LocalAgent
 *   AgentClient.connect(url, token, events?) → a client runPush can use
 */

export interface PushResult {
  uploaded: number;
  deleted: number;
  bytes: number;
  durationMs: number;
  entries: number;
  hashed: number;
  inSync: boolean;
  digest: string;
  problems: unknown[];
}

export interface PushOptions {
  dir: string;
  connect(): Promise<unknown>;
  timeoutMs: number;
  onProgress?(progress: { files: number; bytes: number; totalFiles: number; totalBytes: number }): void;
  onWarning?(warning: Error): void;
}

export interface LocalAgent {
  url: string;
  token: string;
  root: string;
  pid: number;
  stop(): Promise<void>;
}

export interface AppStatus {
  state: string;
  restarts: number;
  pid?: number;
}

export interface AgentEvents {
  appStatus?(status: AppStatus): void;
  closed?(error: Error | null): void;
}

export interface PushApi {
  runPush(opts: PushOptions): Promise<PushResult>;
  startLocalAgent(opts: {
    root: string;
    appConfig?: unknown;
    env?: Record<string, string>;
    onOutput?(stream: 'stdout' | 'stderr', data: Buffer): void;
  }): Promise<LocalAgent>;
  AgentClient: { connect(url: string, token: string, events?: AgentEvents): Promise<{ close(): Promise<void> }> };
}

const AGENT_BUNDLE = join(REPO_ROOT, 'packages/agent/dist/skiff-agent.js');

/** How the local target starts the agent here: the bundle when built, else the TypeScript source through tsx (slower start, more memory). */
export function agentMode(): string {
  return existsSync(AGENT_BUNDLE) && process.env.SKIFF_AGENT_FROM_SOURCE !== '1' ? 'bundled' : 'from source via tsx (not built)';
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
