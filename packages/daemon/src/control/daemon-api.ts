/**
 * The daemon's own methods and exit statuses: the part of its lifecycle the
 * CLI needs to know, apart from the server so that importing it costs nothing.
 */

export const DaemonMethod = {
  STOP: 'daemon.stop',
  STATUS: 'daemon.status',
} as const;
export type DaemonMethod = (typeof DaemonMethod)[keyof typeof DaemonMethod];

export interface DaemonStatus {
  pid: number;
  version: string;
  protocol: number;
  /** ISO 8601. */
  startedAt: string;
  uptimeMs: number;
  /** Open control connections, the asking one included. */
  clients: number;
  socket: string;
  log: string;
}

/**
 * skiffd's exit statuses. ALREADY_RUNNING is distinct so that the CLI that
 * started a daemon which then lost the start race keeps connecting (to the
 * winner) instead of reporting a failure.
 */
export const DaemonExit = {
  OK: 0,
  FAILURE: 1,
  ALREADY_RUNNING: 3,
} as const;
export type DaemonExit = (typeof DaemonExit)[keyof typeof DaemonExit];
