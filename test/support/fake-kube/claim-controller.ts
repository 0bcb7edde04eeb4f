import { rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Component, type EventRecorder } from './event-recorder.ts';
import { POD, PVC } from './resources.ts';
import { isRecord, type KubeObject, type PodSpec } from './shapes.ts';
import type { ObjectStore } from './store.ts';
import type { StateLayout } from './volumes.ts';
import { EventReason, EventType, PVC_PROTECTION_FINALIZER, PvcPhase, WatchEventType } from './vocabulary.ts';

/**
 * PersistentVolumeClaims: a dynamic provisioner and the protection
 * controller in one. A new claim is bound at once to a volume named
 * `pvc-<uid>` (a directory of the double's state, see StateLayout) unless a
 * test holds it Pending (then an ExternalProvisioning event says it waits).
 * A deleted claim keeps its `kubernetes.io/pvc-protection` finalizer while
 * a pod still uses it; then the finalizer goes, the claim goes, and its
 * directory is removed (the Delete reclaim policy of dynamic volumes).
 */

export const PROVISIONER = 'fake-kube.skiff.test/hostpath';

export class ClaimController {
  private readonly held = new Set<string>();
  private holdAll = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly events: EventRecorder,
    private readonly layout: StateLayout,
  ) {
    this.unsubscribe = store.subscribe((change) => {
      if (change.resource === PVC) {
        // Removed before any client hears of the deletion: once a claim is seen DELETED, its data is gone.
        if (change.type === WatchEventType.DELETED) rmSync(layout.claimDir(change.object.metadata.uid!), { recursive: true, force: true });
        else if (change.type === WatchEventType.ADDED) this.provision(change.object);
        else this.release(change.object);
      } else if (change.resource === POD && change.type === WatchEventType.DELETED) {
        for (const pvc of store.list(PVC, change.object.metadata.namespace)) this.release(pvc);
      }
    });
  }

  stop(): void {
    this.unsubscribe();
  }

  /** Holds new claims of this name (or, with no name, all new claims) Pending, or lets them (and held ones) bind. */
  setPending(pending: boolean, name?: string): void {
    if (name === undefined) this.holdAll = pending;
    else if (pending) this.held.add(name);
    else this.held.delete(name);
    if (pending) return;
    for (const pvc of this.store.list(PVC)) if (isRecord(pvc.status) && pvc.status.phase === PvcPhase.Pending) this.provision(pvc);
  }

  private isHeld(name: string): boolean {
    return this.holdAll || this.held.has(name);
  }

  private provision(pvc: KubeObject): void {
    if (pvc.metadata.deletionTimestamp !== undefined) return;
    if (this.isHeld(pvc.metadata.name!)) {
      this.events.record(pvc, {
        type: EventType.Normal,
        reason: EventReason.ExternalProvisioning,
        message: `Waiting for a volume to be created either by the external provisioner '${PROVISIONER}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
        component: Component.VolumeController,
      });
      return;
    }
    const spec = isRecord(pvc.spec) ? pvc.spec : {};
    const volume = `pvc-${pvc.metadata.uid}`;
    const storage = isRecord(spec.resources) && isRecord(spec.resources.requests) ? spec.resources.requests.storage : undefined;
    pvc.spec = { ...spec, volumeName: volume, storageClassName: spec.storageClassName ?? 'standard' };
    pvc.metadata.annotations = {
      ...(pvc.metadata.annotations ?? {}),
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
      'volume.kubernetes.io/storage-provisioner': PROVISIONER,
    };
    pvc.status = { phase: PvcPhase.Bound, accessModes: spec.accessModes, capacity: { storage } };
    // The directory exists before anyone can see the claim Bound.
    void mkdir(this.layout.claimDir(pvc.metadata.uid!), { recursive: true }).then(() => {
      const live = this.store.get(PVC, pvc.metadata.namespace, pvc.metadata.name!);
      if (live === undefined || live.metadata.uid !== pvc.metadata.uid || (isRecord(live.status) && live.status.phase === PvcPhase.Bound)) return;
      live.spec = pvc.spec;
      live.metadata.annotations = pvc.metadata.annotations;
      live.status = pvc.status;
      this.store.update(PVC, live);
      this.events.record(live, {
        type: EventType.Normal,
        reason: EventReason.ProvisioningSucceeded,
        message: `Successfully provisioned volume ${volume}`,
        component: Component.VolumeController,
      });
    }, (err: unknown) => console.error(`fake-kube: cannot make the directory of claim ${pvc.metadata.name}:`, err));
  }

  /** A deleted claim loses its protection finalizer once no pod uses it. */
  private release(pvc: KubeObject): void {
    if (pvc.metadata.deletionTimestamp === undefined || !(pvc.metadata.finalizers ?? []).includes(PVC_PROTECTION_FINALIZER)) return;
    const inUse = this.store
      .list(POD, pvc.metadata.namespace)
      .some((p) => ((p.spec as PodSpec).volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === pvc.metadata.name));
    if (inUse) return;
    pvc.metadata.finalizers = (pvc.metadata.finalizers ?? []).filter((f) => f !== PVC_PROTECTION_FINALIZER);
    this.store.update(PVC, pvc);
  }
}
