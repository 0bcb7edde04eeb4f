import type { AppStatusHeader, LogStream, Problem } from '@skiff/protocol';

/**
 * What a session tells every attached terminal. The vocabulary is closed: the
 * CLI renders each kind, `--json` prints them as they come.
 */
export const SessionEvent = {
  STATE: 'session.state',
  SYNC_STARTED: 'sync.started',
  SYNC_PROGRESS: 'sync.progress',
  SYNC_FINISHED: 'sync.finished',
  SYNC_FAILED: 'sync.failed',
  PROBLEM: 'sync.problem',
  AGENT: 'agent.state',
  APP_STATUS: 'app.status',
  APP_LOG: 'app.log',
} as const;
export type SessionEvent = (typeof SessionEvent)[keyof typeof SessionEvent];

export const AgentState = {
  STARTING: 'starting',
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  DISCONNECTED: 'disconnected',
  STOPPED: 'stopped',
} as const;
export type AgentState = (typeof AgentState)[keyof typeof AgentState];

/** Why a sync ran: `verify` is a full check when the agent's tree stopped being known. */
export type SyncReason = 'initial' | 'watch' | 'push' | 'reconnect' | 'verify' | 'rewatch';

export interface SyncStarted {
  batch: number;
  reason: SyncReason;
  /** Paths looked at: the whole tree for a full sync, the touched ones for a watch batch. */
  paths: number;
  /** The sync starts while the scan still walks (an empty agent gets the tree as it is found): `paths` is what was found so far. */
  scanning?: boolean;
}

export interface SyncFinished {
  batch: number;
  reason: SyncReason;
  uploaded: number;
  /** Files placed from content the agent already held (moves): no bytes sent. */
  copied: number;
  deleted: number;
  bytes: number;
  durationMs: number;
  inSync: boolean;
  problems: Problem[];
}

export interface AppLog {
  stream: LogStream;
  ts: number;
  text: string;
}

export interface EventPayloads {
  [SessionEvent.STATE]: { state: string };
  [SessionEvent.SYNC_STARTED]: SyncStarted;
  [SessionEvent.SYNC_PROGRESS]: { batch: number; files: number; bytes: number; totalFiles: number; totalBytes: number };
  [SessionEvent.SYNC_FINISHED]: SyncFinished;
  [SessionEvent.SYNC_FAILED]: { batch: number; code: string; message: string };
  [SessionEvent.PROBLEM]: Problem;
  [SessionEvent.AGENT]: { state: AgentState; url?: string; code?: string; message?: string };
  [SessionEvent.APP_STATUS]: AppStatusHeader;
  [SessionEvent.APP_LOG]: AppLog;
}

export type Listener = <E extends SessionEvent>(event: E, data: EventPayloads[E]) => void;
