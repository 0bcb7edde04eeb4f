/**
 * Timing and size bounds of the app supervisor. Each is a policy choice; the
 * comment says what it trades.
 */

/**
 * How long a stopping app gets between SIGTERM (to its whole process group) and
 * SIGKILL. Long enough for a server to close its listeners and flush; short
 * enough that a save-and-restart loop stays interactive. Docker's own
 * `docker stop` default is 10 s; a dev loop wants less.
 */
export const STOP_GRACE_MS = 5_000;

/**
 * After SIGKILL, how long to wait for the exit to be reported before giving up
 * on the process (a process stuck in uninterruptible sleep cannot be killed).
 */
export const KILL_WAIT_MS = 2_000;

/**
 * How often a stop looks whether the stopped group's last members are gone
 * (bounded by KILL_WAIT_MS). Members die within a scheduler tick or two of
 * SIGKILL; polling is the only way to see it for processes that are not our
 * children.
 */
export const GROUP_EXIT_POLL_MS = 10;

/** First delay before restarting an app that exited on its own. */
export const BACKOFF_BASE_MS = 500;

/** Longest delay between restarts of a crash-looping app. */
export const BACKOFF_CAP_MS = 30_000;

/**
 * An app that ran at least this long before exiting counts as having been
 * healthy: its next restart waits only BACKOFF_BASE_MS again.
 */
export const STABLE_RUN_MS = 10_000;

/**
 * Backlog replayed to a new subscriber (a terminal that attaches later sees
 * recent output). Bounded by both lines and bytes, whichever is hit first, so
 * neither many short lines nor a few huge ones grow it without limit.
 */
export const LOG_BACKLOG_LINES = 1_000;
export const LOG_BACKLOG_BYTES = 256 * 1024;

/** Lines of assemble output quoted in an 'assemble-failed' status message. */
export const ASSEMBLE_TAIL_LINES = 20;
/** Characters of assemble output kept for that tail, whatever the line count. */
export const ASSEMBLE_TAIL_CHARS = 8 * 1024;

/** The timings a Supervisor uses; tests shorten them, production uses the defaults. */
export interface SupervisorTiming {
  stopGraceMs: number;
  killWaitMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  stableRunMs: number;
}

export const DEFAULT_TIMING: SupervisorTiming = {
  stopGraceMs: STOP_GRACE_MS,
  killWaitMs: KILL_WAIT_MS,
  backoffBaseMs: BACKOFF_BASE_MS,
  backoffCapMs: BACKOFF_CAP_MS,
  stableRunMs: STABLE_RUN_MS,
};

/**
 * After a command's leader exited, how long to wait for the rest of its output
 * (its pipes close a moment later). Bounded because a leftover background
 * process may hold the pipe open indefinitely.
 */
export const OUTPUT_DRAIN_MS = 200;
