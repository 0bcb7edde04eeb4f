import { sep } from 'node:path';
import { checkRelPath } from '@skiff/protocol';

/**
 * The wire path of `absPath` under `absRoot`, or null when it is the root
 * itself, lies outside it, or is refused by checkRelPath (a name with a
 * backslash, an over-long path): such paths are dropped, never repaired, so
 * that both sides agree on which file a path names.
 */
export function toWirePath(absRoot: string, absPath: string): string | null {
  const prefix = absRoot.endsWith(sep) ? absRoot : absRoot + sep;
  if (!absPath.startsWith(prefix) || absPath.length === prefix.length) return null;
  let rel = absPath.slice(prefix.length);
  if (sep !== '/') rel = rel.split(sep).join('/');
  return checkRelPath(rel) === null ? rel : null;
}

/** Joins a wire directory ('' for the root) and an entry name. */
export function joinWire(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
