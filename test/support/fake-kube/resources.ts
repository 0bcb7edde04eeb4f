/**
 * The resources the double serves: one row per resource, read by discovery,
 * the router, the store and the handlers. Anything not in this table answers
 * 404, as a cluster without that API would.
 */

export interface ResourceInfo {
  group: string;
  version: string;
  /** URL segment: `pods`. */
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  /** Field selector labels the real server accepts for this resource (metadata.name and metadata.namespace always). */
  fieldLabels: string[];
  /** Subresources discovery lists (`status`, `portforward`). */
  subresources: string[];
  /** Whether metadata.generation tracks changes of `spec`. */
  tracksGeneration: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCES: readonly ResourceInfo[] = [
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    listKind: 'NamespaceList',
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    fieldLabels: ['status.phase'],
    subresources: ['status'],
    tracksGeneration: false,
  },
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    listKind: 'PodList',
    namespaced: true,
    shortNames: ['po'],
    verbs: ALL_VERBS,
    fieldLabels: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
    subresources: ['status', 'portforward'],
    tracksGeneration: false,
  },
  {
    group: '',
    version: 'v1',
    plural: 'services',
    singular: 'service',
    kind: 'Service',
    listKind: 'ServiceList',
    namespaced: true,
    shortNames: ['svc'],
    verbs: ALL_VERBS,
    fieldLabels: ['spec.clusterIP', 'spec.type'],
    subresources: ['status'],
    tracksGeneration: false,
  },
  {
    group: '',
    version: 'v1',
    plural: 'secrets',
    singular: 'secret',
    kind: 'Secret',
    listKind: 'SecretList',
    namespaced: true,
    shortNames: [],
    verbs: ALL_VERBS,
    fieldLabels: ['type'],
    subresources: [],
    tracksGeneration: false,
  },
  {
    group: '',
    version: 'v1',
    plural: 'persistentvolumeclaims',
    singular: 'persistentvolumeclaim',
    kind: 'PersistentVolumeClaim',
    listKind: 'PersistentVolumeClaimList',
    namespaced: true,
    shortNames: ['pvc'],
    verbs: ALL_VERBS,
    fieldLabels: [],
    subresources: ['status'],
    tracksGeneration: false,
  },
  {
    group: '',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    listKind: 'EventList',
    namespaced: true,
    shortNames: ['ev'],
    verbs: ALL_VERBS,
    fieldLabels: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
    subresources: [],
    tracksGeneration: false,
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    listKind: 'DeploymentList',
    namespaced: true,
    shortNames: ['deploy'],
    verbs: ALL_VERBS,
    fieldLabels: [],
    subresources: ['status'],
    tracksGeneration: true,
  },
];

export function groupVersion(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** The row for a URL's group, version and plural, or undefined. */
export function resourceFor(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function resourceForKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => groupVersion(r) === apiVersion && r.kind === kind);
}

/** The key of an object in the store: `pods/default/web-1`, `namespaces//default`. */
export function objectKey(r: ResourceInfo, namespace: string | undefined, name: string): string {
  return `${r.group}/${r.plural}/${r.namespaced ? (namespace ?? '') : ''}/${name}`;
}

export const POD = resourceFor('', 'v1', 'pods')!;
export const SERVICE = resourceFor('', 'v1', 'services')!;
export const SECRET = resourceFor('', 'v1', 'secrets')!;
export const PVC = resourceFor('', 'v1', 'persistentvolumeclaims')!;
export const EVENT = resourceFor('', 'v1', 'events')!;
export const NAMESPACE = resourceFor('', 'v1', 'namespaces')!;
export const DEPLOYMENT = resourceFor('apps', 'v1', 'deployments')!;
