import { recordUpdate } from './apply.ts';
import { applyDefaults, prepareCreate } from './defaults.ts';
import type { Deleter } from './deletion.ts';
import { Component, type EventRecorder } from './event-recorder.ts';
import { randomSuffix, templateHash } from './names.ts';
import { DEPLOYMENT, POD } from './resources.ts';
import { clone, isRecord, jsonEqual, nowIso, type DeploymentSpec, type JsonObject, type KubeObject } from './shapes.ts';
import type { ObjectStore } from './store.ts';
import { DeploymentStrategy, EventReason, EventType, POD_TEMPLATE_HASH_LABEL } from './vocabulary.ts';

/**
 * The Deployment controller, without ReplicaSets: it keeps `spec.replicas`
 * pods of the current template, named `<deployment>-<pod-template-hash>-<5>`
 * and labelled from the template plus `pod-template-hash`, owned by the
 * Deployment itself (a real pod's owner is a ReplicaSet; the double serves
 * none). A deleted or terminating pod is replaced at once. A new template
 * rolls out per `strategy.type`: Recreate deletes the old pods and waits
 * until they are gone before creating new ones; RollingUpdate creates the
 * new ones first and deletes the old ones once the new ones are Ready.
 * Deployment status (replicas, updated/ready/available, observedGeneration,
 * Available and Progressing conditions) follows the pods.
 */

const MANAGER = 'kube-controller-manager';

function isReady(pod: KubeObject): boolean {
  const conditions = isRecord(pod.status) && Array.isArray(pod.status.conditions) ? (pod.status.conditions as JsonObject[]) : [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

export class DeploymentController {
  private readonly queued = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly deleter: Deleter,
  ) {
    this.unsubscribe = store.subscribe((change) => {
      if (change.resource === DEPLOYMENT) this.enqueue(change.object.metadata.namespace!, change.object.metadata.name!);
      else if (change.resource === POD) {
        for (const ref of change.object.metadata.ownerReferences ?? []) {
          if (ref.kind === 'Deployment') this.enqueue(change.object.metadata.namespace!, ref.name);
        }
      }
    });
  }

  stop(): void {
    this.unsubscribe();
  }

  /** Reconciles once per burst of changes, after the write that caused them. */
  private enqueue(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (this.queued.has(key)) return;
    this.queued.add(key);
    queueMicrotask(() => {
      this.queued.delete(key);
      try {
        this.reconcile(namespace, name);
      } catch (err) {
        console.error(`fake-kube: the deployment controller failed on ${key}:`, err);
      }
    });
  }

  private reconcile(namespace: string, name: string): void {
    const d = this.store.get(DEPLOYMENT, namespace, name);
    if (d === undefined || d.metadata.deletionTimestamp !== undefined) return;
    const spec = d.spec as DeploymentSpec;
    const hash = templateHash(spec.template);
    const owned = this.store.list(POD, namespace).filter((p) => (p.metadata.ownerReferences ?? []).some((r) => r.uid === d.metadata.uid));
    const active = owned.filter((p) => p.metadata.deletionTimestamp === undefined);
    const current = active.filter((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] === hash);
    const old = active.filter((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] !== hash);
    const replicas = spec.replicas ?? 1;
    const recreate = spec.strategy?.type === DeploymentStrategy.Recreate;

    if (recreate && old.length > 0) {
      this.scaleDown(d, old);
    } else if (recreate && owned.some((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] !== hash)) {
      // Recreate: the old pods are terminating; the new ones wait until they are gone.
    } else {
      if (current.length < replicas) {
        if (current.length === 0) this.scaled(d, hash, 'up', 0, replicas);
        for (let i = current.length; i < replicas; i++) this.createPod(d, hash);
      } else if (current.length > replicas) {
        this.scaled(d, hash, 'down', current.length, replicas);
        for (const p of current.slice(replicas)) this.deleter.delete(POD, namespace, p.metadata.name!);
      }
      if (old.length > 0 && current.filter(isReady).length >= replicas) this.scaleDown(d, old);
    }
    this.updateStatus(namespace, name, hash);
  }

  private scaleDown(d: KubeObject, pods: KubeObject[]): void {
    const byHash = new Map<string, number>();
    for (const p of pods) byHash.set(p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] ?? '', (byHash.get(p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] ?? '') ?? 0) + 1);
    for (const [hash, n] of byHash) this.scaled(d, hash, 'down', n, 0);
    for (const p of pods) this.deleter.delete(POD, p.metadata.namespace, p.metadata.name!);
  }

  private scaled(d: KubeObject, hash: string, way: 'up' | 'down', from: number, to: number): void {
    this.events.record(d, {
      type: EventType.Normal,
      reason: EventReason.ScalingReplicaSet,
      message: `Scaled ${way} replica set ${d.metadata.name}-${hash} from ${from} to ${to}`,
      component: Component.DeploymentController,
    });
  }

  private createPod(d: KubeObject, hash: string): void {
    const template = clone((d.spec as DeploymentSpec).template);
    const meta = template.metadata ?? {};
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${d.metadata.name}-${hash}-${randomSuffix()}`,
        generateName: `${d.metadata.name}-${hash}-`,
        namespace: d.metadata.namespace,
        labels: { ...(meta.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash },
        ...(meta.annotations ? { annotations: meta.annotations } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: template.spec as unknown as JsonObject,
    };
    const now = nowIso();
    const prepared = prepareCreate(POD, applyDefaults(pod), now);
    prepared.metadata.managedFields = recordUpdate(undefined, prepared, MANAGER, now);
    this.store.create(POD, prepared);
  }

  private updateStatus(namespace: string, name: string, hash: string): void {
    const d = this.store.get(DEPLOYMENT, namespace, name);
    if (d === undefined) return;
    const spec = d.spec as DeploymentSpec;
    const replicas = spec.replicas ?? 1;
    const active = this.store
      .list(POD, namespace)
      .filter((p) => p.metadata.deletionTimestamp === undefined && (p.metadata.ownerReferences ?? []).some((r) => r.uid === d.metadata.uid));
    const updated = active.filter((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL] === hash);
    const ready = active.filter(isReady).length;
    const updatedReady = updated.filter(isReady).length;
    const prev = isRecord(d.status) ? d.status : {};
    const prevConditions = Array.isArray(prev.conditions) ? (prev.conditions as JsonObject[]) : [];
    const now = nowIso();
    const condition = (type: string, status: 'True' | 'False', reason: string, message: string) => {
      const before = prevConditions.find((c) => c.type === type);
      const same = before !== undefined && before.status === status && before.reason === reason && before.message === message;
      return {
        type,
        status,
        lastUpdateTime: same ? before.lastUpdateTime : now,
        lastTransitionTime: before !== undefined && before.status === status ? before.lastTransitionTime : now,
        reason,
        message,
      };
    };
    const available = ready >= replicas;
    const complete = updatedReady >= replicas && updated.length === active.length;
    const status: JsonObject = {
      observedGeneration: d.metadata.generation,
      ...(active.length > 0 ? { replicas: active.length } : {}),
      ...(updated.length > 0 ? { updatedReplicas: updated.length } : {}),
      ...(ready > 0 ? { readyReplicas: ready, availableReplicas: ready } : {}),
      ...(replicas - ready > 0 ? { unavailableReplicas: replicas - ready } : {}),
      conditions: [
        available
          ? condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
          : condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
        complete
          ? condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${name}-${hash}" has successfully progressed.`)
          : condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${name}-${hash}" is progressing.`),
      ],
    };
    if (jsonEqual(status, d.status)) return;
    d.status = status;
    this.store.update(DEPLOYMENT, d);
  }
}
