import { APP_KILL_WAIT_MS, APP_STOP_GRACE_MS } from '@skiff/protocol';

/*
 * Timing and size bounds of the app supervisor. Each is a policy choice; the
 * comment says what it trades. The stop grace period and the kill wait are
 * shared with the agent's and the daemon's shutdown bounds, so they live in
 * the protocol package (agent-stop.ts).
 */

/**
 * How often a stop looks whether the stopped group's members are gone, at
 * first: members die within a scheduler tick or two of a signal they do not
 * handle, and polling is the only way to see it for processes that are not
 * our children.
 */
export const GROUP_EXIT_POLL_MS = 10;

/**
 * The poll interval doubles up to this while an app takes its time to close
 * (each look reads /proc): the stop then ends at most this long after the
 * app's last process did.
 */
export const GROUP_EXIT_POLL_MAX_MS = 100;

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
 * recent output), in lines. Bounded by both lines and bytes, whichever is hit
 * first, so neither many short lines nor a few huge ones grow it without limit.
 */
export const LOG_BACKLOG_LINES = 1_000;
/** The backlog's bound in bytes (see LOG_BACKLOG_LINES). */
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
  stopGraceMs: APP_STOP_GRACE_MS,
  killWaitMs: APP_KILL_WAIT_MS,
  backoffBaseMs: BACKOFF_BASE_MS,
  backoffCapMs: BACKOFF_CAP_MS,
  stableRunMs: STABLE_RUN_MS,
};

/**
 * After a command ended, how long to wait for the rest of its output
 * (its pipes close a moment later). Bounded because a leftover background
 * process may hold the pipe open indefinitely.
 */
export const OUTPUT_DRAIN_MS = 200;
