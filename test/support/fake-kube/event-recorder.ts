import { randomBytes } from 'node:crypto';
import { EVENT, groupVersion, resourceForKind } from './resources.ts';
import { nowIso, type KubeObject } from './shapes.ts';
import type { ObjectStore } from './store.ts';
import type { EventReason, EventType } from './vocabulary.ts';
import { NODE_NAME } from './vocabulary.ts';

/**
 * core/v1 Events as the fake components record them: involvedObject with
 * kind, name, namespace, uid, apiVersion, resourceVersion and fieldPath
 * (`spec.containers{app}` for a container); source and reportingComponent
 * naming the component (kubelet, default-scheduler, deployment-controller);
 * a repeat of the same event (same object, reason, message) bumps count and
 * lastTimestamp of the existing Event (a MODIFIED), as the real recorder
 * aggregates them.
 */

export const Component = {
  Kubelet: 'kubelet',
  Scheduler: 'default-scheduler',
  DeploymentController: 'deployment-controller',
  VolumeController: 'persistentvolume-controller',
} as const;
export type Component = (typeof Component)[keyof typeof Component];

export interface EventInput {
  type: EventType;
  reason: EventReason;
  message: string;
  component: Component;
  /** `spec.containers{name}` or `spec.initContainers{name}` for container events. */
  fieldPath?: string;
}

export class EventRecorder {
  constructor(private readonly store: ObjectStore) {}

  record(about: KubeObject, input: EventInput): void {
    const namespace = about.metadata.namespace ?? 'default';
    const r = resourceForKind(about.apiVersion, about.kind);
    const involvedObject = {
      kind: about.kind,
      namespace,
      name: about.metadata.name,
      uid: about.metadata.uid,
      apiVersion: r ? groupVersion(r) : about.apiVersion,
      resourceVersion: about.metadata.resourceVersion,
      ...(input.fieldPath !== undefined ? { fieldPath: input.fieldPath } : {}),
    };
    const now = nowIso();
    const same = this.store
      .list(EVENT, namespace)
      .find(
        (e) =>
          (e.involvedObject as { uid?: string; fieldPath?: string }).uid === about.metadata.uid &&
          (e.involvedObject as { fieldPath?: string }).fieldPath === input.fieldPath &&
          e.reason === input.reason &&
          e.message === input.message &&
          e.type === input.type,
      );
    if (same !== undefined) {
      same.count = (typeof same.count === 'number' ? same.count : 1) + 1;
      same.lastTimestamp = now;
      this.store.update(EVENT, same);
      return;
    }
    const host = input.component === Component.Kubelet ? { host: NODE_NAME } : {};
    this.store.create(EVENT, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${about.metadata.name}.${randomBytes(8).toString('hex')}`, namespace, uid: crypto.randomUUID(), creationTimestamp: now },
      involvedObject,
      reason: input.reason,
      message: input.message,
      source: { component: input.component, ...host },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type: input.type,
      eventTime: null,
      reportingComponent: input.component,
      reportingInstance: input.component === Component.Kubelet ? NODE_NAME : '',
    });
  }
}
