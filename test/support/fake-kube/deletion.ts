import { RESOURCES, NAMESPACE, POD, type ResourceInfo } from './resources.ts';
import { badRequest, failure, successStatus, type StatusBody } from './status.ts';
import type { ObjectStore } from './store.ts';
import { isRecord, nowIso, type KubeObject } from './shapes.ts';
import { StatusReason, WatchEventType } from './vocabulary.ts';
import { DEFAULT_TERMINATION_GRACE_SECONDS } from './defaults.ts';

/**
 * Deletion as the real server and its controllers carry it out:
 * - an object with finalizers only gets a deletionTimestamp, and goes when
 *   its last finalizer is removed (the PVC protection finalizer is removed
 *   by the claim controller once no pod uses the claim);
 * - a scheduled pod with a grace period gets deletionTimestamp and
 *   deletionGracePeriodSeconds; the kubelet stops its containers and then
 *   removes it; an unscheduled pod, or a grace period of 0, goes at once;
 * - the garbage collector deletes the dependents of a removed owner
 *   (`propagationPolicy` Background, the default; Foreground is treated as
 *   Background), or strips their ownerReferences (Orphan);
 * - a namespace turns Terminating, its contents are deleted, then it goes.
 */

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: PropagationPolicy;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Resources whose DELETE answers with the object rather than a Status, as their real storage does. */
const RETURNS_DELETED_OBJECT = new Set(['pods', 'services']);

export function deleteOptionsFrom(body: unknown, query: URLSearchParams): DeleteOptions {
  const out: DeleteOptions = {};
  const b = isRecord(body) ? body : {};
  const grace = query.get('gracePeriodSeconds') ?? (b.gracePeriodSeconds as number | string | undefined);
  if (grace !== undefined && grace !== null) {
    const n = Number(grace);
    if (!Number.isInteger(n)) throw badRequest(`invalid gracePeriodSeconds: ${JSON.stringify(grace)}`);
    out.gracePeriodSeconds = Math.max(0, n);
  }
  const policy = query.get('propagationPolicy') ?? (b.propagationPolicy as string | undefined);
  if (policy !== undefined && policy !== null) {
    if (!['Background', 'Foreground', 'Orphan'].includes(policy)) throw badRequest(`invalid propagationPolicy: ${JSON.stringify(policy)}`);
    out.propagationPolicy = policy as PropagationPolicy;
  } else if (b.orphanDependents === true) out.propagationPolicy = 'Orphan';
  if (isRecord(b.preconditions)) out.preconditions = b.preconditions as DeleteOptions['preconditions'];
  return out;
}

export class Deleter {
  constructor(private readonly store: ObjectStore) {
    store.subscribe((change) => {
      if (change.type === WatchEventType.DELETED) {
        this.collectDependents(change.object);
        this.finishNamespaces(change.object.metadata.namespace);
      } else if (change.type === WatchEventType.MODIFIED) this.removeIfFinalized(change.resource, change.object);
    });
  }

  /** Deletes one object; answers what the real server answers (the object while deletion is pending, else a Status or the object). */
  delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject | StatusBody {
    const live = this.store.mustGet(r, namespace, name);
    const pre = opts.preconditions;
    if (pre?.uid !== undefined && pre.uid !== live.metadata.uid) {
      throw failure(409, StatusReason.Conflict, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${live.metadata.uid}`);
    }
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== live.metadata.resourceVersion) {
      throw failure(409, StatusReason.Conflict, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${live.metadata.resourceVersion}`);
    }
    if (opts.propagationPolicy === 'Orphan') this.orphanDependents(live);

    if (r === NAMESPACE) return this.deleteNamespace(live);
    if (r === POD) {
      const spec = isRecord(live.spec) ? live.spec : {};
      const grace = opts.gracePeriodSeconds ?? (typeof spec.terminationGracePeriodSeconds === 'number' ? spec.terminationGracePeriodSeconds : DEFAULT_TERMINATION_GRACE_SECONDS);
      const scheduled = typeof spec.nodeName === 'string' && spec.nodeName !== '';
      if (scheduled && grace > 0 && (live.metadata.finalizers ?? []).length === 0) {
        if (live.metadata.deletionTimestamp !== undefined) return live;
        live.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        live.metadata.deletionGracePeriodSeconds = grace;
        return this.store.update(r, live);
      }
    }
    if ((live.metadata.finalizers ?? []).length > 0) {
      if (live.metadata.deletionTimestamp !== undefined) return live;
      live.metadata.deletionTimestamp = nowIso();
      live.metadata.deletionGracePeriodSeconds = 0;
      return this.store.update(r, live);
    }
    const removed = this.store.remove(r, namespace, name);
    if (RETURNS_DELETED_OBJECT.has(r.plural)) return removed;
    return successStatus({ name, ...(r.group === '' ? {} : { group: r.group }), kind: r.plural, uid: live.metadata.uid });
  }

  /** The end of a pod's graceful deletion: the kubelet calls this once its containers stopped. */
  finishPod(namespace: string, name: string, uid: string): void {
    const live = this.store.get(POD, namespace, name);
    if (live === undefined || live.metadata.uid !== uid) return;
    if ((live.metadata.finalizers ?? []).length > 0) return;
    this.store.remove(POD, namespace, name);
  }

  /** An object whose deletion waited on finalizers goes once none is left. */
  private removeIfFinalized(r: ResourceInfo, obj: KubeObject): void {
    if (obj.metadata.deletionTimestamp === undefined || (obj.metadata.finalizers ?? []).length > 0) return;
    if (r === POD || r === NAMESPACE) return; // the kubelet and the namespace controller finish these
    if (this.store.get(r, obj.metadata.namespace, obj.metadata.name!) !== undefined) this.store.remove(r, obj.metadata.namespace, obj.metadata.name!);
  }

  private dependentsOf(owner: KubeObject): { r: ResourceInfo; obj: KubeObject }[] {
    const uid = owner.metadata.uid;
    const out: { r: ResourceInfo; obj: KubeObject }[] = [];
    if (uid === undefined) return out;
    for (const r of RESOURCES) {
      if (!r.namespaced) continue;
      for (const obj of this.store.list(r, owner.metadata.namespace)) {
        if ((obj.metadata.ownerReferences ?? []).some((ref) => ref.uid === uid)) out.push({ r, obj });
      }
    }
    return out;
  }

  private collectDependents(owner: KubeObject): void {
    for (const { r, obj } of this.dependentsOf(owner)) {
      const liveOwners = (obj.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== owner.metadata.uid);
      if (liveOwners.length > 0) continue;
      if (obj.metadata.deletionTimestamp !== undefined) continue;
      this.delete(r, obj.metadata.namespace, obj.metadata.name!);
    }
  }

  private orphanDependents(owner: KubeObject): void {
    for (const { r, obj } of this.dependentsOf(owner)) {
      obj.metadata.ownerReferences = (obj.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== owner.metadata.uid);
      if (obj.metadata.ownerReferences.length === 0) delete obj.metadata.ownerReferences;
      this.store.update(r, obj);
    }
  }

  private deleteNamespace(ns: KubeObject): KubeObject {
    if (ns.metadata.deletionTimestamp === undefined) {
      ns.metadata.deletionTimestamp = nowIso();
      ns.status = { phase: 'Terminating' };
      ns = this.store.update(NAMESPACE, ns);
    }
    const name = ns.metadata.name!;
    for (const r of RESOURCES) {
      if (!r.namespaced) continue;
      for (const obj of this.store.list(r, name)) if (obj.metadata.deletionTimestamp === undefined) this.delete(r, name, obj.metadata.name!);
    }
    this.finishNamespaces(name);
    return ns;
  }

  private finishNamespaces(namespace: string | undefined): void {
    if (namespace === undefined) return;
    const ns = this.store.get(NAMESPACE, undefined, namespace);
    if (ns === undefined || ns.metadata.deletionTimestamp === undefined) return;
    const remaining = RESOURCES.some((r) => r.namespaced && this.store.list(r, namespace).length > 0);
    if (!remaining) this.store.remove(NAMESPACE, undefined, namespace);
  }
}
