import { isRecord, nowIso, type JsonObject } from './shapes.ts';
import { PodPhase, type ContainerReason } from './vocabulary.ts';

/**
 * A pod's `status` from the fake kubelet's model of it: phase, conditions
 * (PodScheduled, PodReadyToStartContainers, Initialized, ContainersReady,
 * Ready, with lastTransitionTime kept while a condition does not change),
 * initContainerStatuses and containerStatuses in the real shape. Pure.
 */

export type ContainerStateJson =
  | { waiting: { reason: ContainerReason; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: { exitCode: number; signal?: number; reason: string; message?: string; startedAt: string; finishedAt: string; containerID?: string } };

export interface ContainerModel {
  name: string;
  image: string;
  init: boolean;
  state: ContainerStateJson;
  lastState: ContainerStateJson | Record<string, never>;
  restartCount: number;
  ready: boolean;
  started: boolean;
  containerID?: string;
  imageID?: string;
}

export interface PodModel {
  scheduled: { ok: true } | { ok: false; message: string };
  sandboxReady: boolean;
  hostIP?: string;
  podIP?: string;
  startTime?: string;
  initContainers: ContainerModel[];
  containers: ContainerModel[];
}

function containerStatus(c: ContainerModel): JsonObject {
  return {
    name: c.name,
    image: c.image,
    imageID: c.imageID ?? '',
    ...(c.containerID !== undefined ? { containerID: c.containerID } : {}),
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    state: c.state,
    lastState: c.lastState,
  };
}

function initCompleted(c: ContainerModel): boolean {
  return 'terminated' in c.state && c.state.terminated.exitCode === 0;
}

export function podPhase(model: PodModel): string {
  if (!model.scheduled.ok || !model.initContainers.every(initCompleted)) return PodPhase.Pending;
  const anyUp = model.containers.some((c) => 'running' in c.state || c.restartCount > 0);
  return anyUp ? PodPhase.Running : PodPhase.Pending;
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
}

function conditionsOf(model: PodModel): Condition[] {
  const out: Condition[] = [];
  if (!model.scheduled.ok) {
    out.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: model.scheduled.message });
    return out;
  }
  const notInit = model.initContainers.filter((c) => !initCompleted(c)).map((c) => c.name);
  const unready = model.containers.filter((c) => !c.ready).map((c) => c.name);
  out.push({ type: 'PodReadyToStartContainers', status: model.sandboxReady ? 'True' : 'False' });
  out.push(
    notInit.length === 0
      ? { type: 'Initialized', status: 'True' }
      : { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${notInit.join(' ')}]` },
  );
  const ready: Condition =
    unready.length === 0
      ? { type: 'Ready', status: 'True' }
      : { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  out.push(ready, { ...ready, type: 'ContainersReady' });
  out.push({ type: 'PodScheduled', status: 'True' });
  return out;
}

/** The pod status for `model`, keeping lastTransitionTime of conditions whose status did not change since `previous`. */
export function buildPodStatus(model: PodModel, previous: unknown): JsonObject {
  const prevConditions = isRecord(previous) && Array.isArray(previous.conditions) ? (previous.conditions as JsonObject[]) : [];
  const now = nowIso();
  const conditions = conditionsOf(model).map((c) => {
    const before = prevConditions.find((p) => p.type === c.type);
    const lastTransitionTime = before !== undefined && before.status === c.status ? before.lastTransitionTime : now;
    return { ...c, lastProbeTime: null, lastTransitionTime };
  });
  const status: JsonObject = { phase: podPhase(model), conditions, qosClass: 'BestEffort' };
  if (model.hostIP !== undefined) {
    status.hostIP = model.hostIP;
    status.hostIPs = [{ ip: model.hostIP }];
  }
  if (model.podIP !== undefined) {
    status.podIP = model.podIP;
    status.podIPs = [{ ip: model.podIP }];
  }
  if (model.startTime !== undefined) status.startTime = model.startTime;
  if (model.scheduled.ok) {
    if (model.initContainers.length > 0) status.initContainerStatuses = model.initContainers.map(containerStatus);
    status.containerStatuses = model.containers.map(containerStatus);
  }
  return status;
}
