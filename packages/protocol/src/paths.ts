import { ErrorCode, SkiffError } from './errors.ts';
import { MAX_LINK_TARGET_BYTES, MAX_NAME_BYTES, MAX_PATH_BYTES } from './limits.ts';

/**
 * Path rules shared by both sides. A wire path is POSIX, relative to the sync
 * root and already normalised: no empty, "." or ".." segment, no leading or
 * trailing slash, no backslash, no NUL, no drive letter. Anything else is
 * refused rather than repaired, so that the two sides never disagree on which
 * file a path names.
 */
const DRIVE_LETTER = /^[A-Za-z]:/;
const encoder = new TextEncoder();

function byteLength(s: string): number {
  // Fast path: ASCII strings are as long in bytes as in code units.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s.length : encoder.encode(s).length;
}

const SLASH = 0x2f;
const DOT = 0x2e;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const ASCII_MAX = 0x7f;

/**
 * One pass over an ASCII path that accepts exactly the valid ones the slow
 * checks below accept, without allocating: every path of every frame and
 * every scanned entry goes through here. Anything else (non-ASCII, or
 * anything wrong) returns false and the full check decides and explains.
 */
function plainValidAscii(path: string): boolean {
  const n = path.length;
  if (n === 0 || n > MAX_PATH_BYTES) return false;
  if (n >= 2 && path.charCodeAt(1) === COLON) return false; // a drive letter, or decided below
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? path.charCodeAt(i) : SLASH;
    if (c === 0 || c === BACKSLASH || c > ASCII_MAX) return false;
    if (c !== SLASH) continue;
    const len = i - start;
    if (len === 0 || len > MAX_NAME_BYTES) return false;
    if (path.charCodeAt(start) === DOT && (len === 1 || (len === 2 && path.charCodeAt(start + 1) === DOT))) return false;
    start = i + 1;
  }
  return true;
}

/** Returns the reason `path` is not a valid wire path, or null when it is. */
export function checkRelPath(path: unknown): SkiffError | null {
  if (typeof path === 'string' && plainValidAscii(path)) return null;
  if (typeof path !== 'string' || path.length === 0) {
    return new SkiffError(ErrorCode.PATH_EMPTY, 'path is empty or not a string');
  }
  const fail = (code: ErrorCode, why: string) =>
    new SkiffError(code, `path ${JSON.stringify(path.slice(0, 200))} ${why}`, { path });
  if (path.includes('\0')) return fail(ErrorCode.PATH_NUL, 'contains a NUL byte');
  if (byteLength(path) > MAX_PATH_BYTES) return fail(ErrorCode.PATH_TOO_LONG, `is longer than ${MAX_PATH_BYTES} bytes`);
  if (path.startsWith('/') || path.startsWith('\\')) return fail(ErrorCode.PATH_ABSOLUTE, 'is absolute');
  if (DRIVE_LETTER.test(path)) return fail(ErrorCode.PATH_ABSOLUTE, 'starts with a drive letter');
  if (path.includes('\\')) return fail(ErrorCode.PATH_NOT_NORMALISED, 'contains a backslash');
  for (const segment of path.split('/')) {
    if (segment === '..') return fail(ErrorCode.PATH_TRAVERSAL, 'contains ".."');
    if (segment === '' || segment === '.') return fail(ErrorCode.PATH_NOT_NORMALISED, 'is not normalised');
    if (byteLength(segment) > MAX_NAME_BYTES) {
      return fail(ErrorCode.PATH_TOO_LONG, `has a component longer than ${MAX_NAME_BYTES} bytes`);
    }
  }
  return null;
}

/** A path of at most this many UTF-16 code units is within MAX_PATH_BYTES of UTF-8 (3 bytes per unit at most). */
const SURELY_SHORT_PATH = Math.floor(MAX_PATH_BYTES / 3);

/**
 * checkRelPath for `rel`, the path of `name` in a directory whose own path
 * already passed it, at the cost of checking the name alone. The full path
 * is then valid exactly when the name is a valid one-segment path and the
 * whole is short enough; when either is in doubt the full check decides (it
 * also accepts names such as "c:x" that are refused only at the top).
 */
export function checkChildPath(rel: string, name: string): SkiffError | null {
  if (rel.length <= SURELY_SHORT_PATH && checkRelPath(name) === null) return null;
  return checkRelPath(rel);
}

/** Throws the SkiffError of `checkRelPath`, or returns the valid path. */
export function assertRelPath(path: unknown): string {
  const err = checkRelPath(path);
  if (err) throw err;
  return path as string;
}

/** Parent of a wire path, '' for a top-level entry. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/**
 * Resolves a symlink's target against the link's own directory and returns the
 * wire path it designates, or null when it leaves the root (or is absolute).
 * '' means the root itself.
 */
export function resolveLinkTarget(linkPath: string, target: string): string | null {
  if (target.length === 0 || target.includes('\0') || byteLength(target) > MAX_LINK_TARGET_BYTES) return null;
  if (target.startsWith('/') || DRIVE_LETTER.test(target) || target.includes('\\')) return null;
  const parts = parentOf(linkPath) === '' ? [] : parentOf(linkPath).split('/');
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else {
      parts.push(segment);
    }
  }
  return parts.join('/');
}

/** Returns the reason a symlink at `linkPath` pointing to `target` is unsafe, or null. */
export function checkLinkTarget(linkPath: string, target: unknown): SkiffError | null {
  if (typeof target !== 'string' || resolveLinkTarget(linkPath, target) === null) {
    return new SkiffError(
      ErrorCode.SYMLINK_ESCAPE,
      `symlink ${JSON.stringify(linkPath)} points outside the root (${JSON.stringify(String(target).slice(0, 200))})`,
      { path: linkPath },
    );
  }
  return null;
}
