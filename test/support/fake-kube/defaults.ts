import { randomUUID } from 'node:crypto';
import type { ResourceInfo } from './resources.ts';
import { clone, isRecord, jsonEqual, type JsonObject, type KubeObject } from './shapes.ts';
import { PVC_PROTECTION_FINALIZER, PvcPhase, PodPhase } from './vocabulary.ts';

/**
 * What the real API server adds to an object on its way in: identity fields
 * on create (uid, creationTimestamp, generation), the defaults of the served
 * kinds (the ones a client is likely to see and compare: restartPolicy,
 * imagePullPolicy, protocol, clusterIP, replicas, strategy...), Secret
 * stringData folded into data, and the fields that only the server changes
 * (status, identity) carried over on update. Pure apart from uid and IP
 * allocation.
 */

/** The default grace period of a pod (corev1.DefaultTerminationGracePeriodSeconds). */
export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;

let nextServiceIp = 1;
function allocateClusterIp(): string {
  const n = nextServiceIp++;
  return `10.96.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
}

function imagePullPolicyFor(image: unknown): string {
  const s = typeof image === 'string' ? image : '';
  const lastSegment = s.slice(s.lastIndexOf('/') + 1);
  if (s.includes('@')) return 'IfNotPresent';
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(c: unknown): void {
  if (!isRecord(c)) return;
  c.imagePullPolicy ??= imagePullPolicyFor(c.image);
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  if (Array.isArray(c.ports)) for (const p of c.ports) if (isRecord(p)) p.protocol ??= 'TCP';
}

export function defaultPodSpec(spec: unknown): void {
  if (!isRecord(spec)) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= DEFAULT_TERMINATION_GRACE_SECONDS;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const list of [spec.containers, spec.initContainers]) if (Array.isArray(list)) list.forEach(defaultContainer);
  if (Array.isArray(spec.volumes)) {
    for (const v of spec.volumes) if (isRecord(v) && isRecord(v.secret)) v.secret.defaultMode ??= 420;
  }
}

/** Fills in the defaults of the kind; mutates and returns `obj`. */
export function applyDefaults(obj: KubeObject): KubeObject {
  const spec = isRecord(obj.spec) ? obj.spec : undefined;
  switch (obj.kind) {
    case 'Pod':
      defaultPodSpec(spec);
      break;
    case 'Deployment':
      if (spec) {
        spec.replicas ??= 1;
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
        if (!isRecord(spec.strategy)) spec.strategy = {};
        const strategy = spec.strategy as JsonObject;
        strategy.type ??= 'RollingUpdate';
        if (strategy.type === 'RollingUpdate') strategy.rollingUpdate ??= { maxSurge: '25%', maxUnavailable: '25%' };
        if (isRecord(spec.template)) defaultPodSpec(spec.template.spec);
      }
      break;
    case 'Service':
      if (spec) {
        spec.type ??= 'ClusterIP';
        spec.sessionAffinity ??= 'None';
        spec.internalTrafficPolicy ??= 'Cluster';
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
        if (spec.clusterIP === undefined || spec.clusterIP === '') spec.clusterIP = allocateClusterIp();
        spec.clusterIPs ??= [spec.clusterIP];
        if (Array.isArray(spec.ports)) {
          for (const p of spec.ports) {
            if (!isRecord(p)) continue;
            p.protocol ??= 'TCP';
            p.targetPort ??= p.port;
          }
        }
      }
      break;
    case 'Secret':
      obj.type ??= 'Opaque';
      if (isRecord(obj.stringData)) {
        // stringData is write-only: folded into data, never stored.
        const data = isRecord(obj.data) ? obj.data : {};
        for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
        obj.data = data;
      }
      delete obj.stringData;
      break;
    case 'PersistentVolumeClaim':
      if (spec) spec.volumeMode ??= 'Filesystem';
      break;
    case 'Namespace':
      obj.spec = isRecord(obj.spec) ? obj.spec : { finalizers: ['kubernetes'] };
      break;
  }
  return obj;
}

/** The status an object starts with, as the real server or its first controller sets it. */
function initialStatus(kind: string): JsonObject | undefined {
  switch (kind) {
    case 'Pod':
      return { phase: PodPhase.Pending, qosClass: 'BestEffort' };
    case 'PersistentVolumeClaim':
      return { phase: PvcPhase.Pending };
    case 'Namespace':
      return { phase: 'Active' };
    case 'Service':
      return { loadBalancer: {} };
    case 'Deployment':
      return {};
    default:
      return undefined;
  }
}

/** Identity and initial status of a new object; `obj` is the decoded, defaulted request. */
export function prepareCreate(r: ResourceInfo, obj: KubeObject, now: string): KubeObject {
  const out = clone(obj);
  out.metadata.uid = randomUUID();
  out.metadata.creationTimestamp = now;
  delete out.metadata.resourceVersion;
  delete out.metadata.deletionTimestamp;
  delete out.metadata.deletionGracePeriodSeconds;
  if (r.tracksGeneration) out.metadata.generation = 1;
  else delete out.metadata.generation;
  const status = initialStatus(out.kind);
  if (status !== undefined) out.status = status;
  else if (r.subresources.includes('status')) delete out.status;
  if (out.kind === 'PersistentVolumeClaim') out.metadata.finalizers = [...new Set([...(out.metadata.finalizers ?? []), PVC_PROTECTION_FINALIZER])];
  return out;
}

/**
 * An update of `live` into `next` (the merged request): identity, status (a
 * subresource) and deletion state stay as the server has them; generation
 * moves when the spec changes.
 */
export function carryServerFields(r: ResourceInfo, live: KubeObject, next: KubeObject): KubeObject {
  const out = clone(next);
  for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
    if (live.metadata[k] === undefined) delete out.metadata[k];
    else out.metadata[k] = live.metadata[k] as never;
  }
  out.metadata.name = live.metadata.name;
  if (r.namespaced) out.metadata.namespace = live.metadata.namespace;
  if (r.subresources.includes('status')) {
    if (live.status === undefined) delete out.status;
    else out.status = clone(live.status);
  }
  if (r.tracksGeneration && !jsonEqual(live.spec, out.spec)) out.metadata.generation = (live.metadata.generation ?? 0) + 1;
  return out;
}
