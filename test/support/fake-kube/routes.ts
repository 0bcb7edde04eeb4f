import { NAMESPACE, resourceFor, type ResourceInfo } from './resources.ts';

/**
 * URL paths of the API, parsed into what they address. Pure.
 *
 *   /version  /api  /apis  /api/v1  /apis/{group}/{version}
 *   /api/v1/{plural}                                 all namespaces (or a cluster-scoped resource)
 *   /api/v1/namespaces/{ns}/{plural}[/{name}[/{sub}]]
 *   /apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}[/{sub}]]
 */

export type Route =
  | { kind: 'version' }
  | { kind: 'health' }
  | { kind: 'core-versions' }
  | { kind: 'groups' }
  | { kind: 'resource-list'; group: string; version: string }
  | { kind: 'object'; resource: ResourceInfo; namespace?: string; name?: string; subresource?: string }
  | { kind: 'not-found' };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts.length === 0) return { kind: 'not-found' };
  if (parts.length === 1 && parts[0] === 'version') return { kind: 'version' };
  if (parts.length === 1 && ['healthz', 'livez', 'readyz'].includes(parts[0])) return { kind: 'health' };
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return { kind: 'core-versions' };
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return { kind: 'groups' };
    if (parts.length === 2) return { kind: 'not-found' };
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return { kind: 'not-found' };
  if (rest.length === 0) return { kind: 'resource-list', group, version };

  // /namespaces/{ns}/{plural}/... addresses a namespaced resource; /namespaces[/{ns}[/status]] the namespaces themselves.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const [, namespace, plural, name, subresource, ...extra] = rest;
    const resource = resourceFor(group, version, plural);
    if (resource === undefined || !resource.namespaced || extra.length > 0) {
      // /api/v1/namespaces/{ns}/status and /finalize address the namespace itself.
      if (group === '' && rest.length === 3 && (plural === 'status' || plural === 'finalize')) {
        return { kind: 'object', resource: NAMESPACE, name: namespace, subresource: plural };
      }
      return { kind: 'not-found' };
    }
    return { kind: 'object', resource, namespace, ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) };
  }
  const [plural, name, subresource, ...extra] = rest;
  const resource = resourceFor(group, version, plural);
  if (resource === undefined || extra.length > 0) return { kind: 'not-found' };
  if (resource.namespaced && name !== undefined) return { kind: 'not-found' };
  return { kind: 'object', resource, ...(name !== undefined ? { name } : {}), ...(subresource !== undefined ? { subresource } : {}) };
}
