/**
 * The session methods of the control API: names and shapes shared by the
 * daemon's handlers and the CLI. Types only besides the names, so importing
 * this costs the CLI nothing.
 */
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
} as const;
export type SessionMethod = (typeof SessionMethod)[keyof typeof SessionMethod];

export interface SessionRef {
  /** Absolute project root. */
  root: string;
  target?: string;
}

export interface StartParams extends SessionRef {
  poll?: boolean;
  /** Wait for the first sync before answering (default true). */
  wait?: boolean;
  /** Sync even when that deletes (nearly) everything on the agent. */
  force?: boolean;
  localRoot?: string;
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
