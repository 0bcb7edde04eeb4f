import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

/**
 * A project's identity in a container engine or a cluster: a name valid for
 * Docker and as a Kubernetes object name (DNS-1123: lowercase letters,
 * digits and '-', at most 63), and labels that find everything skiff made
 * for it. Pure.
 */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const MANAGED_BY = 'skiff';
/** Longest readable part of an instance name: the hash suffix makes it unique. */
const NAME_PART_MAX = 40;

export interface Instance {
  /** e.g. "skiff-hello-node-1a2b3c4d". */
  name: string;
  labels: Record<string, string>;
}

export function instanceOf(projectRoot: string, projectName: string): Instance {
  const id = createHash('sha256').update(resolve(projectRoot)).digest('hex').slice(0, 8);
  const part = projectName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, NAME_PART_MAX)
    .replace(/-+$/, '');
  const name = part === '' ? `skiff-${id}` : `skiff-${part}-${id}`;
  return { name, labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_INSTANCE]: name } };
}
