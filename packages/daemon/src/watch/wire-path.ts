import { sep } from 'node:path';

/**
 * The path of `absPath` relative to `absRoot` in wire form ('/'-separated),
 * or null when it is the root itself or lies outside it. A path that
 * checkRelPath refuses (a name with a backslash, an over-long path) is
 * returned as it is, never repaired: the refresh reports it as a problem
 * with its code, and nothing is sent for it.
 */
export function toWirePath(absRoot: string, absPath: string): string | null {
  const prefix = absRoot.endsWith(sep) ? absRoot : absRoot + sep;
  if (!absPath.startsWith(prefix) || absPath.length === prefix.length) return null;
  let rel = absPath.slice(prefix.length);
  if (sep !== '/') rel = rel.split(sep).join('/');
  return rel;
}

/** Joins a wire directory ('' for the root) and an entry name. */
export function joinWire(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
