import { randomBytes } from 'node:crypto';

/*
 * Temporary names for files and links on their way into place. They live in
 * the target's own directory (so the final rename never crosses a filesystem)
 * and share one prefix, so that whatever a killed agent left behind is found
 * and swept at the next start. A wire path whose last component carries the
 * prefix is refused: the sweep would otherwise delete a synced file.
 */

/** The prefix of every temporary name: swept at start, refused as the last component of a wire path. */
export const TEMP_PREFIX = '.skiff-tmp-';

// One random part per process plus a counter: unique without a syscall per file.
const PROCESS_PART = randomBytes(6).toString('hex');
let counter = 0;

export function tempName(): string {
  counter += 1;
  return `${TEMP_PREFIX}${PROCESS_PART}-${counter.toString(36)}`;
}

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** True when the last component of a wire path is reserved for temporary names. */
export function isReservedPath(path: string): boolean {
  return isTempName(path.slice(path.lastIndexOf('/') + 1));
}
