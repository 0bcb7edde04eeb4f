import type { CoreV1Event, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { APP_CONTAINER } from './objects.ts';

/**
 * What a pod's status and events say about the agent in it, in one line with
 * a stable code. Pure, so each case is a table row.
 *
 * Failing at once: an image that cannot be pulled, an init container that
 * failed, an agent that keeps exiting. Waiting (and, at the deadline, the
 * reason given): scheduling (a claim not bound yet, no room), pulling,
 * init containers running, the agent starting.
 */
export type PodVerdict =
  | { kind: 'ready'; pod: string }
  /** `unboundClaims`: the pod waits for these claims to be bound (their events say why: claimWaiting). */
  | { kind: 'waiting'; pod: string; why: string; unboundClaims?: string[] }
  | { kind: 'failed'; pod: string; error: SkiffError }
  /** Terminating or finished: not the pod to use. */
  | { kind: 'gone'; pod: string };

const PULL_FAILURES: ReadonlySet<string> = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const CONFIG_FAILURES: ReadonlySet<string> = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

export function diagnosePod(pod: V1Pod, events: readonly CoreV1Event[] = []): PodVerdict {
  const name = pod.metadata?.name ?? '?';
  if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return { kind: 'gone', pod: name };
  const warning = lastWarning(events);
  const failed = (code: ErrorCode, message: string): PodVerdict => ({ kind: 'failed', pod: name, error: new SkiffError(code, `pod ${name}: ${message}`) });

  for (const [statuses, role] of [[pod.status?.initContainerStatuses ?? [], 'init container'], [pod.status?.containerStatuses ?? [], 'container']] as const) {
    for (const s of statuses) {
      const waiting = s.state?.waiting;
      if (waiting?.reason && PULL_FAILURES.has(waiting.reason)) {
        return failed(ErrorCode.IMAGE_MISSING, `${role} ${s.name}: the image ${JSON.stringify(s.image)} cannot be pulled (${waiting.reason}${detail(waiting.message ?? warning)})`);
      }
      if (waiting?.reason && CONFIG_FAILURES.has(waiting.reason)) {
        return failed(ErrorCode.AGENT_START, `${role} ${s.name} cannot start (${waiting.reason}${detail(waiting.message ?? warning)})`);
      }
      if (waiting?.reason === 'CrashLoopBackOff') return failed(ErrorCode.AGENT_START, `${role} ${s.name} keeps exiting (${lastExit(s)}${detail(warning)})`);
      const done = s.state?.terminated;
      if (role === 'init container' && done && done.exitCode !== 0) {
        return failed(ErrorCode.AGENT_START, `init container ${s.name} failed (exit code ${done.exitCode}${done.reason ? `, ${done.reason}` : ''}${detail(done.message)})`);
      }
    }
  }

  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') {
    const why = scheduled.message ?? warning ?? scheduled.reason ?? 'not scheduled yet';
    if (!/persistentvolumeclaim|unbound/i.test(why)) return { kind: 'waiting', pod: name, why: `it cannot be scheduled${detail(why)}` };
    // The scheduler does not say which claim; the pod's volumes do.
    const claims = (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));
    const named = claims.length === 0 ? 'its claim' : `${claims.length === 1 ? 'claim' : 'claims'} ${claims.join(', ')}`;
    return { kind: 'waiting', pod: name, why: `its source volume's ${named} is not bound${detail(why)}`, unboundClaims: claims };
  }
  const app = pod.status?.containerStatuses?.find((s) => s.name === APP_CONTAINER);
  if (pod.status?.phase === 'Running' && app?.state?.running) return { kind: 'ready', pod: name };
  const init = pod.status?.initContainerStatuses?.find((s) => !s.state?.terminated);
  if (init) return { kind: 'waiting', pod: name, why: `init container ${init.name} is ${init.state?.running ? 'running' : (init.state?.waiting?.reason ?? 'waiting')}` };
  return { kind: 'waiting', pod: name, why: `the agent's container is ${app?.state?.waiting?.reason ?? pod.status?.phase ?? 'pending'}${detail(warning)}` };
}

/**
 * What a claim's newest event says (a provisioner at work or failing, no
 * storage class to provision from): the part of an unbound claim's story
 * the scheduler leaves out. Null when it has no event.
 */
export function claimWaiting(claim: string, events: readonly CoreV1Event[]): string | null {
  const newest = [...events].sort((a, b) => eventTime(a) - eventTime(b)).at(-1)?.message;
  return newest ? `claim ${claim}${detail(newest)}` : null;
}

/** Longest part of a cluster's message that a verdict quotes. */
const DETAIL_MAX = 400;

function detail(text: string | undefined): string {
  return text ? `: ${oneLine(text).slice(0, DETAIL_MAX)}` : '';
}

/**
 * A cluster's message on one line: a runtime's error or a container's
 * termination message may span several, and the verdict is shown as one
 * line after its code.
 */
function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' ');
}

function lastExit(s: V1ContainerStatus): string {
  const t = s.lastState?.terminated;
  return t ? `exit code ${t.exitCode}${t.reason ? `, ${t.reason}` : ''}, ${s.restartCount} restarts` : `${s.restartCount} restarts`;
}

/** The message of the newest Warning event. */
function lastWarning(events: readonly CoreV1Event[]): string | undefined {
  const warnings = events.filter((e) => e.type === 'Warning');
  warnings.sort((a, b) => eventTime(a) - eventTime(b));
  return warnings.at(-1)?.message;
}

/** When an event last happened: a repeated one keeps its first time and moves lastTimestamp. */
function eventTime(e: CoreV1Event): number {
  return new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
}
