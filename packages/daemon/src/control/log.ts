/**
 * The daemon's log: one line per record on stderr, which an autostarted
 * daemon has pointed at skiffd.log. The daemon never prints to a terminal
 * otherwise.
 */

export const LogLevel = {
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];
export type ControlLog = (level: LogLevel, message: string) => void;

/** Lowest level written: debug, info (default), warn or error. */
export const LOG_LEVEL_ENV = 'SKIFF_LOG_LEVEL';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function parseLogLevel(value: string | undefined): LogLevel {
  return value !== undefined && Object.hasOwn(RANK, value) ? (value as LogLevel) : LogLevel.INFO;
}

export function formatLogLine(now: Date, level: LogLevel, message: string): string {
  return `${now.toISOString()} ${level.padEnd(5)} [${process.pid}] ${message}\n`;
}

export function streamLog(out: NodeJS.WritableStream, min: LogLevel): ControlLog {
  return (level, message) => {
    if (RANK[level] < RANK[min]) return;
    out.write(formatLogLine(new Date(), level, message));
  };
}
