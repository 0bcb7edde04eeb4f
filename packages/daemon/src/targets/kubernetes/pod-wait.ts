import type { CoreV1Event } from '@kubernetes/client-node';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import type { KubeAccess } from './kube-api.ts';
import { claimWaiting, diagnosePod } from './pod-diagnosis.ts';
import type { PodWatch } from './pod-watch.ts';

/** Longest wait between two looks at the pods when no watch event comes. */
export const POD_RECHECK_MS = 1_000;

/**
 * Waits for a pod of the instance whose agent runs, within `deadline` (ms
 * since the epoch). A pod that failed (an image that cannot be pulled, an
 * init container that failed, an agent that keeps exiting) ends the wait at
 * once with what its status and events say; at the deadline, the newest
 * pod's reason for waiting (a claim not bound, no room to schedule) is the
 * error.
 */
export async function waitForReadyPod(kube: KubeAccess, watch: PodWatch, deadline: number): Promise<string> {
  for (;;) {
    const verdicts = watch.snapshot().map((p) => ({ pod: p, verdict: diagnosePod(p) }));
    const ready = verdicts.find((v) => v.verdict.kind === 'ready');
    if (ready) return ready.verdict.pod;
    const newest = verdicts.find((v) => v.verdict.kind !== 'gone');
    if (newest?.verdict.kind === 'failed') {
      const withEvents = diagnosePod(newest.pod, await podEvents(kube, newest.verdict.pod));
      throw withEvents.kind === 'failed' ? withEvents.error : newest.verdict.error;
    }
    if (Date.now() > deadline) {
      if (!newest) throw new SkiffError(ErrorCode.TIMEOUT, `no pod of the deployment appeared within the push timeout (SKIFF_PUSH_TIMEOUT)`);
      const why = diagnosePod(newest.pod, await podEvents(kube, newest.verdict.pod));
      let reason = why.kind === 'waiting' ? why.why : why.kind === 'failed' ? why.error.message : 'it is not ready';
      // An unbound claim's own events say why (a slow provisioner, no storage class to provision from).
      for (const claim of why.kind === 'waiting' ? (why.unboundClaims ?? []) : []) {
        const note = claimWaiting(claim, await eventsAbout(kube, 'PersistentVolumeClaim', claim));
        if (note) reason += `; ${note}`;
      }
      throw new SkiffError(ErrorCode.TIMEOUT, `pod ${newest.verdict.pod} did not start within the push timeout (SKIFF_PUSH_TIMEOUT): ${reason}`);
    }
    await watch.nextChange(Math.min(POD_RECHECK_MS, Math.max(0, deadline - Date.now()) + 1));
  }
}

/** The events about one pod; none when they cannot be read (they only add detail). */
export function podEvents(kube: KubeAccess, pod: string): Promise<CoreV1Event[]> {
  return eventsAbout(kube, 'Pod', pod);
}

/** The events about one object of the namespace; none when they cannot be read. */
export async function eventsAbout(kube: KubeAccess, kind: string, name: string): Promise<CoreV1Event[]> {
  try {
    const core = kube.kc.makeApiClient(kube.lib.CoreV1Api);
    const list = await core.listNamespacedEvent({ namespace: kube.namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
    return list.items;
  } catch {
    return [];
  }
}
