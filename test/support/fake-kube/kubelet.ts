import type { Deleter } from './deletion.ts';
import type { EventRecorder } from './event-recorder.ts';
import type { ContainerLauncher } from './launcher.ts';
import { PodWorker, type Backoff, type ImageState } from './pod-worker.ts';
import { POD, PVC, SECRET } from './resources.ts';
import type { KubeObject } from './shapes.ts';
import type { ObjectStore } from './store.ts';
import type { StateLayout } from './volumes.ts';
import { WatchEventType } from './vocabulary.ts';
import { Wakeup } from './wakeup.ts';

/**
 * The fake node's kubelet: one PodWorker per pod in the store (every pod is
 * scheduled to the one node), started when the pod appears, stopped with
 * the pod's grace period when it is deleted. It also holds the test's
 * levers on the node: images that cannot be pulled, containers made to
 * crash, and processes to kill.
 */

/** What a missing image's pull fails with, as containerd words it. */
export function notFoundPullError(image: string): string {
  return `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`;
}

/** Grace given to the containers of a pod removed from the API at once (a force delete): SIGTERM first, as the kubelet still does. */
export const FORCE_DELETE_GRACE_MS = 2_000;
/** Grace given to every container when the double stops, so that an agent can stop its app. */
export const SHUTDOWN_GRACE_MS = 5_000;

function reportStopFailure(err: unknown): void {
  console.error('fake-kube: stopping a pod failed:', err);
}

export interface KubeletDeps {
  store: ObjectStore;
  events: EventRecorder;
  deleter: Deleter;
  layout: StateLayout;
  launchers: readonly ContainerLauncher[];
  backoff: Backoff;
  onOutput?(pod: string, container: string, stream: 'stdout' | 'stderr', line: string): void;
}

export class Kubelet implements ImageState {
  private readonly workers = new Map<string, PodWorker>();
  private readonly missingImages = new Map<string, string>();
  private readonly crashing = new Set<string>();
  private readonly wakeup = new Wakeup();
  private readonly unsubscribe: () => void;
  private nextIp = 10;
  private stopped = false;

  constructor(private readonly deps: KubeletDeps) {
    this.unsubscribe = deps.store.subscribe((change) => {
      if (change.resource === PVC || change.resource === SECRET) this.wakeup.wake();
      if (change.resource !== POD) return;
      const pod = change.object;
      const uid = pod.metadata.uid!;
      if (change.type === WatchEventType.ADDED) this.admit(pod);
      else if (change.type === WatchEventType.DELETED) {
        // Gone from the API (a force delete, or the end of a graceful one): stop what may still run.
        const w = this.workers.get(uid);
        this.workers.delete(uid);
        w?.terminate(FORCE_DELETE_GRACE_MS, false).catch(reportStopFailure);
      } else if (pod.metadata.deletionTimestamp !== undefined) {
        const w = this.workers.get(uid);
        const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
        if (w === undefined) deps.deleter.finishPod(pod.metadata.namespace!, pod.metadata.name!, uid);
        else w.terminate(graceMs, true).catch(reportStopFailure);
      }
    });
  }

  private admit(pod: KubeObject): void {
    if (this.stopped || pod.metadata.deletionTimestamp !== undefined) return;
    const worker = new PodWorker(
      {
        ...this.deps,
        images: this,
        isCrashing: (name) => this.crashing.has(name),
        wakeup: this.wakeup,
        podIp: () => `10.244.0.${this.nextIp++ % 250}`,
      },
      pod,
    );
    this.workers.set(pod.metadata.uid!, worker);
    worker.start();
  }

  pullError(image: string): string | undefined {
    return this.missingImages.get(image);
  }

  /** Makes an image unpullable (with containerd's not-found error, or `error`), or pullable again. */
  setImageMissing(image: string, missing: boolean, error?: string): void {
    if (missing) this.missingImages.set(image, error ?? notFoundPullError(image));
    else this.missingImages.delete(image);
    this.wakeup.wake();
  }

  /** Makes every container of this name crash (its process killed now, each restart exiting 1), or stop crashing. */
  setCrashing(container: string, crashing: boolean): void {
    if (crashing) {
      this.crashing.add(container);
      for (const w of this.workers.values()) w.kill(container, 'SIGKILL');
    } else this.crashing.delete(container);
    this.wakeup.wake();
  }

  worker(namespace: string, name: string): PodWorker | undefined {
    for (const w of this.workers.values()) if (w.namespace === namespace && w.name === name) return w;
    return undefined;
  }

  /** Stops every pod's processes: the double is shutting down. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    const all = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(all.map((w) => w.terminate(SHUTDOWN_GRACE_MS, false)));
  }
}
