import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { groupVersion, type ResourceInfo } from './resources.ts';
import type { KubeObject } from './shapes.ts';
import type { ObjectStore } from './store.ts';

/**
 * get and list. A list is served from the latest state whatever
 * `resourceVersion` it asks for, and `limit` is ignored (the API allows a
 * server not to paginate: no `continue` is returned); its
 * metadata.resourceVersion is the store's current revision, the point a
 * watch continues from. List items carry no kind or apiVersion, as on the
 * real server.
 */

/** Label and field selection of a list or watch request. */
export type Selection = (obj: KubeObject) => boolean;

export function selectionFrom(r: ResourceInfo, query: URLSearchParams): Selection {
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'), r.fieldLabels, r.plural);
  return (obj) => labels(obj.metadata.labels) && fields(obj);
}

export function getObject(store: ObjectStore, r: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
  return store.mustGet(r, namespace, name);
}

export function listObjects(store: ObjectStore, r: ResourceInfo, namespace: string | undefined, query: URLSearchParams): object {
  const select = selectionFrom(r, query);
  const revision = store.currentRevision();
  const items = store
    .list(r, namespace)
    .filter(select)
    .map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
  return { kind: r.listKind, apiVersion: groupVersion(r), metadata: { resourceVersion: String(revision) }, items };
}
