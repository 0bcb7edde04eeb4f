import type Docker from 'dockerode';
import { firstFileOf } from './archive.ts';

/**
 * Whom the app container runs as: the image's USER, which the Docker target
 * keeps (the app must run as its image says). The files skiff puts into the
 * container before it starts (the token) must belong to that user, or an
 * agent running as `node` or `nobody` cannot read them and exits at once.
 */
export interface Owner {
  uid: number;
  gid: number;
}

export const ROOT_OWNER: Owner = { uid: 0, gid: 0 };

const NUMERIC = /^\d+$/;

/** The numeric id of `name` in a passwd or group file (field 3), and for passwd its primary group (field 4). */
function lookup(file: string | null, name: string): { id: number; gid: number } | null {
  for (const line of (file ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields.length >= 3 && NUMERIC.test(fields[2])) {
      return { id: Number(fields[2]), gid: NUMERIC.test(fields[3] ?? '') ? Number(fields[3]) : 0 };
    }
  }
  return null;
}

/** The primary group of uid `uid` in a passwd file. */
function primaryGroupOf(passwd: string | null, uid: number): number | null {
  for (const line of (passwd ?? '').split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 4 && fields[2] === String(uid) && NUMERIC.test(fields[3])) return Number(fields[3]);
  }
  return null;
}

/**
 * Docker's USER syntax (`""`, `name`, `uid`, `name:group`, `uid:gid`) as
 * numeric ids, read against the image's /etc/passwd and /etc/group the way
 * the engine does: a uid missing from passwd gets group 0. Null when a name
 * is not in the files (the engine refuses to start such a container and
 * says so itself). Pure.
 */
export function resolveOwner(user: string, passwd: string | null, group: string | null): Owner | null {
  if (user.trim() === '') return ROOT_OWNER;
  const [userPart, groupPart] = user.split(':', 2);
  let uid: number;
  let gid: number;
  if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    gid = primaryGroupOf(passwd, uid) ?? 0;
  } else {
    const found = lookup(passwd, userPart);
    if (found === null) return null;
    uid = found.id;
    gid = found.gid;
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const found = lookup(group, groupPart);
      if (found === null) return null;
      gid = found.id;
    }
  }
  return { uid, gid };
}

/** A file of a created (not yet started) container, or null when it has none. */
async function fileOf(container: Docker.Container, path: string): Promise<string | null> {
  try {
    return (await firstFileOf(await container.getArchive({ path })))?.toString('utf8') ?? null;
  } catch {
    return null;
  }
}

/** Whom `container` runs as, from its USER and its image's passwd and group files; root when unknown. */
export async function containerOwner(container: Docker.Container): Promise<Owner> {
  const user = (await container.inspect()).Config.User ?? '';
  if (user.trim() === '') return ROOT_OWNER;
  const [passwd, group] = await Promise.all([fileOf(container, '/etc/passwd'), fileOf(container, '/etc/group')]);
  return resolveOwner(user, passwd, group) ?? ROOT_OWNER;
}
