import { ErrorCode, SkiffError } from '@skiff/protocol';
import type { Target } from '../config/target.ts';
import type { AppLog } from '../session/events.ts';
import type { SessionStatus } from '../session/session-state.ts';
import type { SyncOutcome } from '../sync/engine.ts';

/**
 * The session methods of the control API: names and shapes shared by the
 * daemon's handlers and the CLI. The CLI reads every type from here (type
 * imports cost nothing at run time); the few values re-exported are small
 * constant tables.
 */
export { Target, TARGETS, isTarget, parseTarget, resolveTarget, targetChoices } from '../config/target.ts';
export { SessionState, isLive, type SessionStatus } from '../session/session-state.ts';
export { AgentState, SessionEvent, type AppLog, type EventPayloads, type SyncFinished } from '../session/events.ts';

export const SessionMethod = {
  /** Starts (or finds) the session of a project and waits for its first sync. */
  START: 'session.start',
  /** Streams the session's events to this connection until it closes. */
  ATTACH: 'session.attach',
  /** Rescans and syncs now. */
  PUSH: 'session.push',
  STATUS: 'session.status',
  LIST: 'session.list',
  LOGS: 'session.logs',
  STOP: 'session.stop',
  /** Stops the session (if one runs) and removes everything the project's target made. */
  DELETE: 'session.delete',
} as const;
export type SessionMethod = (typeof SessionMethod)[keyof typeof SessionMethod];

export interface SessionRef {
  /** Absolute project root. */
  root: string;
  /**
   * Absent: for START, the project's skiff.yaml decides (else local); for the
   * other methods, the project's session whatever its target (a live one
   * before a failed one).
   */
  target?: Target;
}

export interface StartParams extends SessionRef {
  poll?: boolean;
  /** Wait for the first sync before answering (default true). */
  wait?: boolean;
  /** Sync even when that deletes (nearly) everything on the agent. */
  force?: boolean;
  /** Absolute agent root of the local target. */
  localRoot?: string;
  /** The Kubernetes target's kubeconfig context and namespace, before skiff.yaml's. */
  kubeContext?: string;
  namespace?: string;
}

export interface AttachParams extends SessionRef {
  /** Replay the recent app log lines first. */
  logs?: boolean;
  /** Only these events (e.g. app.log for `skiff logs -f`); all when absent. */
  events?: string[];
}

export interface LogsParams extends SessionRef {
  limit?: number;
}

/** What a session push answers: a sync's outcome as it crosses the wire (a Set does not). */
export type SessionPushResult = Omit<SyncOutcome, 'unconfirmed'>;

/** The result of each session method. */
export interface SessionResults {
  [SessionMethod.START]: SessionStatus;
  [SessionMethod.ATTACH]: SessionStatus;
  [SessionMethod.PUSH]: SessionPushResult;
  [SessionMethod.STATUS]: SessionStatus;
  [SessionMethod.LIST]: SessionStatus[];
  [SessionMethod.LOGS]: AppLog[];
  [SessionMethod.STOP]: { stopped: true };
  [SessionMethod.DELETE]: { target: string; removed: string[] };
}

/** SKIFF_E_NO_SESSION for a project, from the daemon or from a CLI that found no daemon. */
export function noSessionError(root: string, detail?: string): SkiffError {
  return new SkiffError(ErrorCode.NO_SESSION, `no session runs for ${root}${detail ? ` (${detail})` : ''}; 'skiff dev' starts one`);
}
