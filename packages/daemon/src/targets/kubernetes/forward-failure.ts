import { LogLevel } from '../../control/log.ts';

/**
 * How loudly to log a forwarded connection that failed, from what the API
 * server or the kubelet said. An app port that nothing listens on is the
 * app starting or restarting, which every save does: a browser polling then
 * is no warning (one per refused request filled the log of a session of
 * saves). Anything else, and any failure on the agent's port, is.
 */
export function forwardFailureLevel(appPort: boolean, message: string): LogLevel {
  return appPort && /connection refused/i.test(message) ? LogLevel.DEBUG : LogLevel.WARN;
}
