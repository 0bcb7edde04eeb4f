/**
 * Stable error codes: the contract between CLI, daemon and agent. A code never
 * changes meaning once released; the message beside it is for people.
 */
export const ErrorCode = {
  AUTH: 'SKIFF_E_AUTH',
  PATH_EMPTY: 'SKIFF_E_PATH_EMPTY',
  PATH_ABSOLUTE: 'SKIFF_E_PATH_ABSOLUTE',
  PATH_TRAVERSAL: 'SKIFF_E_PATH_TRAVERSAL',
  PATH_NUL: 'SKIFF_E_PATH_NUL',
  PATH_TOO_LONG: 'SKIFF_E_PATH_TOO_LONG',
  PATH_NOT_NORMALISED: 'SKIFF_E_PATH_NOT_NORMALISED',
  PATH_OUTSIDE_ROOT: 'SKIFF_E_PATH_OUTSIDE_ROOT',
  SYMLINK_ESCAPE: 'SKIFF_E_SYMLINK_ESCAPE',
  FRAME_TRUNCATED: 'SKIFF_E_FRAME_TRUNCATED',
  FRAME_HEADER_TOO_LARGE: 'SKIFF_E_FRAME_HEADER_TOO_LARGE',
  FRAME_CHUNK_TOO_LARGE: 'SKIFF_E_FRAME_CHUNK_TOO_LARGE',
  FRAME_UNKNOWN_KIND: 'SKIFF_E_FRAME_UNKNOWN_KIND',
  FRAME_MALFORMED: 'SKIFF_E_FRAME_MALFORMED',
  PROTOCOL_VERSION: 'SKIFF_E_PROTOCOL_VERSION',
  PROTOCOL_STATE: 'SKIFF_E_PROTOCOL_STATE',
  SIZE_MISMATCH: 'SKIFF_E_SIZE_MISMATCH',
  DISK_FULL: 'SKIFF_E_DISK_FULL',
  IO: 'SKIFF_E_IO',
  TIMEOUT: 'SKIFF_E_TIMEOUT',
  CONNECTION_LOST: 'SKIFF_E_CONNECTION_LOST',
  INDEX_CORRUPT: 'SKIFF_E_INDEX_CORRUPT',
  CONFIG: 'SKIFF_E_CONFIG',
  DURATION: 'SKIFF_E_DURATION',
  AGENT_START: 'SKIFF_E_AGENT_START',
  USAGE: 'SKIFF_E_USAGE',
  /** The kernel's inotify watch or instance limit is reached. */
  WATCH_LIMIT: 'SKIFF_E_WATCH_LIMIT',
  DAEMON_RUNNING: 'SKIFF_E_DAEMON_RUNNING',
  /** A sync would delete (nearly) everything the agent holds; it needs --force. */
  MASS_DELETION: 'SKIFF_E_MASS_DELETION',
  /** No session runs for the project (the CLI exits 3: nothing running). */
  NO_SESSION: 'SKIFF_E_NO_SESSION',
  /** The project's session already runs with other settings (another agent root). */
  SESSION_CONFLICT: 'SKIFF_E_SESSION_CONFLICT',
  /** The agent root is already the root (or overlaps the root) of another project's session. */
  ROOT_IN_USE: 'SKIFF_E_ROOT_IN_USE',
  UNSUPPORTED_FILE: 'SKIFF_E_UNSUPPORTED_FILE',
  /** The target's engine or cluster cannot be reached (not running, no permission, no credentials). */
  TARGET_UNAVAILABLE: 'SKIFF_E_TARGET_UNAVAILABLE',
  /** The app's image is neither present nor pullable. */
  IMAGE_MISSING: 'SKIFF_E_IMAGE_MISSING',
  /** A port the app or agent needs on this machine is taken. */
  PORT_IN_USE: 'SKIFF_E_PORT_IN_USE',
  /** A COPY whose source no longer holds the expected content on the agent: the daemon sends the bytes instead. */
  COPY_SOURCE: 'SKIFF_E_COPY_SOURCE',
  /**
   * A delta (SPAN frames) whose base is not, on the agent, the content the
   * daemon built it against, or whose result is not the announced content:
   * the previous version is kept and the daemon sends the whole file.
   */
  DELTA_BASE: 'SKIFF_E_DELTA_BASE',
  /** A file name whose bytes are not UTF-8: the wire carries UTF-8 paths only. */
  PATH_NOT_UTF8: 'SKIFF_E_PATH_NOT_UTF8',
  INTERNAL: 'SKIFF_E_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && KNOWN_CODES.has(value);
}

/** An error with a stable code. `cause` keeps the underlying error. */
export class SkiffError extends Error {
  readonly code: ErrorCode;
  readonly path?: string;
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; path?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SkiffError';
    this.code = code;
    if (options.path !== undefined) this.path = options.path;
  }
  toJSON(): { code: ErrorCode; message: string; path?: string } {
    return this.path === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, path: this.path };
  }
}

export function isSkiffError(err: unknown): err is SkiffError {
  return err instanceof SkiffError;
}

/** Wraps anything thrown into a SkiffError, keeping a SkiffError as it is. */
export function asSkiffError(err: unknown, fallback: ErrorCode = ErrorCode.INTERNAL): SkiffError {
  if (err instanceof SkiffError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SkiffError(fallback, message, { cause: err });
}
