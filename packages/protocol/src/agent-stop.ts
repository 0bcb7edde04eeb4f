/*
 * How long stopping takes, from the app up to the agent and the daemon that
 * started it. Each bound is built on the one below it, here, so that the
 * daemon never SIGKILLs an agent that is still within its own shutdown.
 */

/**
 * How long a stopping app gets between SIGTERM (to its whole process group)
 * and SIGKILL; it runs until every process of the group is gone, not just the
 * first. Long enough for a server to close its listeners and flush; short
 * enough that a save-and-restart loop stays interactive. Docker's own
 * `docker stop` default is 10 s; a dev loop wants less. The README promises
 * this number.
 */
export const APP_STOP_GRACE_MS = 5_000;

/**
 * After SIGKILL, how long to wait for the app's exit to be reported, and
 * then again for the last members of its group to be gone, before giving up
 * on them (a process stuck in uninterruptible sleep cannot be killed).
 */
export const APP_KILL_WAIT_MS = 2_000;

/** Room for the agent's own close after the app stopped: connections closed, last lines flushed. */
export const AGENT_CLOSE_MS = 1_000;

/**
 * The agent's bound on its whole shutdown after SIGTERM (stop the app, close):
 * past it the agent exits anyway, since an init that hangs keeps a container
 * from stopping. The app's worst case is the grace period plus both kill waits.
 */
export const AGENT_SHUTDOWN_DEADLINE_MS = APP_STOP_GRACE_MS + 2 * APP_KILL_WAIT_MS + AGENT_CLOSE_MS;

/**
 * What a parent adds to the agent's deadline before it SIGKILLs the agent:
 * the agent's exit after its deadline timer fired, on a loaded machine.
 */
export const AGENT_EXIT_MARGIN_MS = 2_000;

/**
 * How long a parent (the daemon's local target) waits between SIGTERM to the
 * agent and SIGKILL: the agent's own deadline plus the margin, so the agent
 * always gets to stop its app itself.
 */
export const AGENT_STOP_GRACE_MS = AGENT_SHUTDOWN_DEADLINE_MS + AGENT_EXIT_MARGIN_MS;
