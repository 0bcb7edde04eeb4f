import { constants } from 'node:os';

/** How the app ended, as the supervisor's stop reports it. */
export interface AppEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  lost?: boolean;
}

export function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}

/**
 * The agent's exit code after a shutdown signal. Pure.
 *
 * - The app was running and exited with a code: that code. An app that
 *   handles SIGTERM and exits 0 makes the container exit 0 (a clean stop).
 * - The app was running and died of a signal: 128 + that signal's number
 *   (143 for SIGTERM, 137 when the grace period ran out and it was killed).
 * - The app could not be made to exit (lost): 137, as if killed.
 * - No app was running: 128 + the number of the signal the agent received,
 *   the shell convention for "terminated by this signal".
 */
export function shutdownExitCode(received: NodeJS.Signals, app: AppEnd | null): number {
  if (app === null) return 128 + signalNumber(received);
  if (app.lost === true) return 128 + signalNumber('SIGKILL');
  if (app.code !== null) return app.code;
  if (app.signal !== null) return 128 + signalNumber(app.signal);
  return 128 + signalNumber(received);
}
