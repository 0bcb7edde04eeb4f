import type { AppStatusHeader, Problem } from '@skiff/protocol';
import type { AgentState, SyncFinished } from './events.ts';

/** Where a session is in its life. */
export const SessionState = {
  STARTING: 'starting',
  SYNCING: 'syncing',
  WATCHING: 'watching',
  DISCONNECTED: 'disconnected',
  /** A sync would have deleted (nearly) everything on the agent: nothing is sent until the tree comes back or --force. */
  HALTED: 'halted',
  FAILED: 'failed',
  STOPPED: 'stopped',
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

/**
 * A session that still works for its project (whatever it is doing now).
 * A failed one stays listed, with its error, until it is started again or
 * stopped, but it counts as nothing running: `skiff status` exits 1 on it,
 * `skiff push` does not go through it, its agent root is free, and the next
 * `skiff dev` replaces it with a fresh one.
 */
export function isLive(state: SessionState): boolean {
  return state !== SessionState.FAILED && state !== SessionState.STOPPED;
}

/** What `skiff status` shows of one session. */
export interface SessionStatus {
  id: string;
  name: string;
  root: string;
  target: string;
  state: SessionState;
  agent: { state: AgentState; url?: string; root?: string; pid?: number; description?: string };
  app: AppStatusHeader | null;
  urls: string[];
  entries: number;
  digest: string;
  inSync: boolean;
  lastSync: (SyncFinished & { at: number }) | null;
  watcher: 'native' | 'poll';
  clients: number;
  startedAt: number;
  /** Why the session failed or halted, when it did. */
  error: { code: string; message: string } | null;
  /** Paths that cannot be synced right now and why (at most STATUS_PROBLEMS_MAX, by path). */
  problems: Problem[];
  /** How many paths have a problem, listed or not. */
  problemCount: number;
}
