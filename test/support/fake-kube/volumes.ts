import { mkdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { MountedVolume } from './launcher.ts';
import { PVC, SECRET } from './resources.ts';
import { isRecord, type Container, type KubeObject, type PodSpec } from './shapes.ts';
import type { ObjectStore } from './store.ts';
import { PvcPhase } from './vocabulary.ts';

/**
 * A pod's volumes as directories of this machine, under the double's state
 * directory:
 *   volumes/pvc-<claim uid>/              a PersistentVolumeClaim: outlives pods, goes with the claim
 *   pods/<pod uid>/volumes/<name>/        an emptyDir, or a secret's files: one pod's
 *   pods/<pod uid>/containers/<name>/rootfs/   a container's paths outside its mounts
 * readOnly is recorded, not enforced; secret volumes are written when the
 * pod starts and not refreshed.
 */

export class StateLayout {
  constructor(readonly root: string) {}

  claimDir(claimUid: string): string {
    return join(this.root, 'volumes', `pvc-${claimUid}`);
  }

  podDir(podUid: string): string {
    return join(this.root, 'pods', podUid);
  }

  rootfs(podUid: string, container: string): string {
    return join(this.podDir(podUid), 'containers', container, 'rootfs');
  }
}

/** Why a pod cannot get its volumes yet (the scheduler's or kubelet's message). */
export class VolumeNotReady extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VolumeNotReady';
  }
}

/** The claims a pod waits for: missing or not yet bound. Empty when it may be scheduled. */
export function unboundClaims(pod: KubeObject, store: ObjectStore): { missing: string[]; pending: string[] } {
  const spec = pod.spec as PodSpec;
  const out = { missing: [] as string[], pending: [] as string[] };
  for (const v of spec.volumes ?? []) {
    const claim = v.persistentVolumeClaim?.claimName;
    if (claim === undefined) continue;
    const pvc = store.get(PVC, pod.metadata.namespace, claim);
    if (pvc === undefined || pvc.metadata.deletionTimestamp !== undefined) out.missing.push(claim);
    else if (!isRecord(pvc.status) || pvc.status.phase !== PvcPhase.Bound) out.pending.push(claim);
  }
  return out;
}

/** Creates the pod's volume directories; returns volume name → directory. */
export async function preparePodVolumes(pod: KubeObject, store: ObjectStore, layout: StateLayout): Promise<Map<string, string>> {
  const spec = pod.spec as PodSpec;
  const podUid = pod.metadata.uid!;
  const dirs = new Map<string, string>();
  for (const v of spec.volumes ?? []) {
    let dir: string;
    if (v.persistentVolumeClaim !== undefined) {
      const pvc = store.get(PVC, pod.metadata.namespace, v.persistentVolumeClaim.claimName);
      if (pvc === undefined) throw new VolumeNotReady(`persistentvolumeclaim "${v.persistentVolumeClaim.claimName}" not found`);
      dir = layout.claimDir(pvc.metadata.uid!);
    } else if (v.secret !== undefined) {
      dir = join(layout.podDir(podUid), 'volumes', v.name);
      const secret = store.get(SECRET, pod.metadata.namespace, v.secret.secretName);
      if (secret === undefined && v.secret.optional !== true) {
        throw new VolumeNotReady(`MountVolume.SetUp failed for volume "${v.name}" : secret "${v.secret.secretName}" not found`);
      }
      await mkdir(dir, { recursive: true });
      const data = secret !== undefined && isRecord(secret.data) ? secret.data : {};
      const items = v.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        const value = data[item.key];
        if (typeof value !== 'string') continue;
        const file = join(dir, item.path);
        await mkdir(join(file, '..'), { recursive: true });
        await writeFile(file, Buffer.from(value, 'base64'), { mode: 0o644 });
      }
    } else {
      // emptyDir, and any volume type the double does not know: an empty directory of the pod.
      dir = join(layout.podDir(podUid), 'volumes', v.name);
    }
    await mkdir(dir, { recursive: true });
    dirs.set(v.name, dir);
  }
  return dirs;
}

export function mountsFor(container: Container, volumeDirs: ReadonlyMap<string, string>): MountedVolume[] {
  const out: MountedVolume[] = [];
  for (const m of container.volumeMounts ?? []) {
    const base = volumeDirs.get(m.name);
    if (base === undefined) continue;
    out.push({ name: m.name, mountPath: posix.normalize(m.mountPath), hostPath: m.subPath ? join(base, m.subPath) : base, readOnly: m.readOnly === true });
  }
  return out;
}

/** Where a path inside the container lives on this machine: the longest mount holding it, else the container's rootfs. */
export function hostPathIn(mounts: readonly MountedVolume[], rootfs: string, containerPath: string): string {
  const p = posix.normalize(posix.isAbsolute(containerPath) ? containerPath : `/${containerPath}`);
  let best: MountedVolume | undefined;
  for (const m of mounts) {
    const inside = p === m.mountPath || p.startsWith(m.mountPath.endsWith('/') ? m.mountPath : `${m.mountPath}/`);
    if (inside && (best === undefined || m.mountPath.length > best.mountPath.length)) best = m;
  }
  if (best === undefined) return join(rootfs, p);
  return join(best.hostPath, posix.relative(best.mountPath, p));
}
