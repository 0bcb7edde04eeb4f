import type { CoreV1Event, V1ContainerStatus, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@skiff/protocol';
import { APP_CONTAINER, COPY_AGENT, COPY_FILES } from '../src/targets/kubernetes/objects.ts';
import { claimWaiting, diagnosePod, type PodVerdict } from '../src/targets/kubernetes/pod-diagnosis.ts';

/**
 * diagnosePod(), one row per state a pod of the target goes through, with
 * the status fields and events a kubelet and a scheduler write for it: what
 * fails at once (with its stable code and the cluster's own words, on one
 * line), what is worth waiting for (and the reason given at the deadline),
 * what is ready, and what is on its way out.
 */

const POD = 'skiff-shop-1a2b3c4d-7d9f8c6b5-x2x9q';
const CLAIM = 'skiff-shop-1a2b3c4d-src';
const APP_IMAGE = 'registry.example.com/team/shop:1.2.3';
const AGENT_IMAGE = 'skiff-agent:0123456789abcdef';
const PULL_ERROR = `rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/${AGENT_IMAGE}": failed to resolve reference "docker.io/library/${AGENT_IMAGE}": docker.io/library/${AGENT_IMAGE}: not found`;
const UNBOUND = '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.';

const waiting = (name: string, image: string, reason: string, message?: string): V1ContainerStatus => ({
  name,
  image,
  imageID: '',
  ready: false,
  restartCount: 0,
  state: { waiting: { reason, ...(message !== undefined ? { message } : {}) } },
});
const running = (name: string, image: string): V1ContainerStatus => ({ name, image, imageID: 'sha256:1', ready: true, restartCount: 0, started: true, state: { running: { startedAt: new Date(0) } } });
const terminated = (name: string, image: string, exitCode: number, reason: string, message?: string): V1ContainerStatus => ({
  name,
  image,
  imageID: 'sha256:1',
  ready: false,
  restartCount: 0,
  state: { terminated: { exitCode, reason, ...(message !== undefined ? { message } : {}) } },
});
const crashLooping = (name: string, image: string, restarts: number): V1ContainerStatus => ({
  ...waiting(name, image, 'CrashLoopBackOff', `back-off 40s restarting failed container=${name} pod=${POD}_default(0f0e)`),
  restartCount: restarts,
  lastState: { terminated: { exitCode: 1, reason: 'Error' } },
});
const initDone = [terminated(COPY_AGENT, AGENT_IMAGE, 0, 'Completed'), terminated(COPY_FILES, APP_IMAGE, 0, 'Completed')];

function pod(opts: {
  phase?: string;
  conditions?: V1PodCondition[];
  init?: V1ContainerStatus[];
  app?: V1ContainerStatus;
  deleting?: boolean;
  claim?: boolean;
}): V1Pod {
  return {
    metadata: { name: POD, namespace: 'default', creationTimestamp: new Date(0), ...(opts.deleting ? { deletionTimestamp: new Date(1), deletionGracePeriodSeconds: 30 } : {}) },
    spec: {
      containers: [{ name: APP_CONTAINER, image: APP_IMAGE }],
      volumes: [{ name: 'skiff-agent', emptyDir: {} }, opts.claim === false ? { name: 'skiff-src', emptyDir: {} } : { name: 'skiff-src', persistentVolumeClaim: { claimName: CLAIM } }],
    },
    status: {
      phase: opts.phase ?? 'Pending',
      ...(opts.conditions ? { conditions: opts.conditions } : {}),
      ...(opts.init ? { initContainerStatuses: opts.init } : {}),
      ...(opts.app ? { containerStatuses: [opts.app] } : {}),
    },
  };
}

const unschedulable = (message: string): V1PodCondition[] => [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }];
const scheduled: V1PodCondition[] = [{ type: 'PodScheduled', status: 'True' }];

function event(type: 'Normal' | 'Warning', reason: string, message: string, at: number): CoreV1Event {
  return { metadata: { name: `${POD}.${at}` }, involvedObject: { kind: 'Pod', name: POD }, type, reason, message, lastTimestamp: new Date(at * 1000) };
}

interface Row {
  name: string;
  pod: V1Pod;
  events?: CoreV1Event[];
  kind: PodVerdict['kind'];
  code?: ErrorCode;
  /** Each must appear in the failure's message, or the reason for waiting. */
  says?: string[];
}

const FAILED: Row[] = [
  {
    name: 'the agent image cannot be pulled (init container copy-agent)',
    pod: pod({ conditions: scheduled, init: [waiting(COPY_AGENT, AGENT_IMAGE, 'ErrImagePull', PULL_ERROR), waiting(COPY_FILES, APP_IMAGE, 'PodInitializing')], app: waiting(APP_CONTAINER, APP_IMAGE, 'PodInitializing') }),
    kind: 'failed',
    code: ErrorCode.IMAGE_MISSING,
    says: [`pod ${POD}`, `init container ${COPY_AGENT}`, JSON.stringify(AGENT_IMAGE), 'ErrImagePull', PULL_ERROR],
  },
  {
    name: 'the app image in back-off: the newest Warning event gives the pull error',
    pod: pod({ phase: 'Pending', conditions: scheduled, init: initDone, app: waiting(APP_CONTAINER, APP_IMAGE, 'ImagePullBackOff') }),
    events: [
      event('Warning', 'Failed', 'Failed to pull image "an older attempt"', 1),
      event('Normal', 'BackOff', `Back-off pulling image "${APP_IMAGE}"`, 3),
      event('Warning', 'Failed', `Failed to pull image "${APP_IMAGE}": ${PULL_ERROR}`, 2),
    ],
    kind: 'failed',
    code: ErrorCode.IMAGE_MISSING,
    says: [`container ${APP_CONTAINER}`, JSON.stringify(APP_IMAGE), 'ImagePullBackOff', `Failed to pull image "${APP_IMAGE}": ${PULL_ERROR}`],
  },
  {
    name: 'the app image name is not valid (the seeding step, which uses the app image, says so first)',
    pod: pod({ conditions: scheduled, init: [initDone[0], waiting(COPY_FILES, 'Shop:Latest', 'InvalidImageName', 'Failed to apply default image tag "Shop:Latest": couldn\'t parse image name "Shop:Latest": invalid reference format: repository name must be lowercase')] }),
    kind: 'failed',
    code: ErrorCode.IMAGE_MISSING,
    says: [`init container ${COPY_FILES}`, 'InvalidImageName', 'repository name must be lowercase'],
  },
  {
    name: 'the seeding step failed once (terminated with exit code 1)',
    pod: pod({ conditions: scheduled, init: [initDone[0], terminated(COPY_FILES, APP_IMAGE, 1, 'Error', 'seed: cannot copy /tmp/src into /mnt/skiff-src: EACCES: permission denied')] }),
    kind: 'failed',
    code: ErrorCode.AGENT_START,
    says: [`init container ${COPY_FILES} failed`, 'exit code 1', 'Error', 'EACCES: permission denied'],
  },
  {
    name: 'the seeding step keeps failing (CrashLoopBackOff of an init container)',
    pod: pod({ conditions: scheduled, init: [initDone[0], crashLooping(COPY_FILES, APP_IMAGE, 3)] }),
    kind: 'failed',
    code: ErrorCode.AGENT_START,
    says: [`init container ${COPY_FILES} keeps exiting`, 'exit code 1', '3 restarts'],
  },
  {
    name: 'the agent keeps exiting (CrashLoopBackOff of the app container)',
    pod: pod({ phase: 'Running', conditions: scheduled, init: initDone, app: crashLooping(APP_CONTAINER, APP_IMAGE, 5) }),
    events: [event('Warning', 'BackOff', `Back-off restarting failed container ${APP_CONTAINER} in pod ${POD}_default(0f0e)`, 9)],
    kind: 'failed',
    code: ErrorCode.AGENT_START,
    says: [`container ${APP_CONTAINER} keeps exiting`, 'exit code 1, Error, 5 restarts', 'Back-off restarting failed container'],
  },
  {
    name: 'the container cannot be made (CreateContainerConfigError)',
    pod: pod({ conditions: scheduled, init: initDone, app: waiting(APP_CONTAINER, APP_IMAGE, 'CreateContainerConfigError', 'secret "skiff-shop-1a2b3c4d-agent" not found') }),
    kind: 'failed',
    code: ErrorCode.AGENT_START,
    says: [`container ${APP_CONTAINER} cannot start`, 'CreateContainerConfigError', 'secret "skiff-shop-1a2b3c4d-agent" not found'],
  },
  {
    name: 'the runtime cannot start it (RunContainerError), its message on several lines',
    pod: pod({
      conditions: scheduled,
      init: initDone,
      app: waiting(APP_CONTAINER, APP_IMAGE, 'RunContainerError', 'failed to create containerd task:\n  exec: "/opt/skiff-agent/lib/ld-linux-x86-64.so.2": permission denied\n'),
    }),
    kind: 'failed',
    code: ErrorCode.AGENT_START,
    says: ['RunContainerError', 'failed to create containerd task:', 'permission denied'],
  },
];

const WAITING: Row[] = [
  {
    name: 'unschedulable: its claim is not bound',
    pod: pod({ conditions: unschedulable(UNBOUND) }),
    events: [event('Warning', 'FailedScheduling', UNBOUND, 1)],
    kind: 'waiting',
    says: [`claim ${CLAIM}`, 'not bound', 'unbound immediate PersistentVolumeClaims'],
  },
  {
    name: 'unschedulable for lack of room',
    pod: pod({ conditions: unschedulable('0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.') }),
    kind: 'waiting',
    says: ['cannot be scheduled', 'Insufficient memory'],
  },
  {
    name: 'not looked at by a scheduler yet',
    pod: pod({}),
    kind: 'waiting',
    says: ['Pending'],
  },
  {
    name: 'copying the agent in',
    pod: pod({ conditions: scheduled, init: [{ ...running(COPY_AGENT, AGENT_IMAGE), ready: false }, waiting(COPY_FILES, APP_IMAGE, 'PodInitializing')], app: waiting(APP_CONTAINER, APP_IMAGE, 'PodInitializing') }),
    kind: 'waiting',
    says: [`init container ${COPY_AGENT} is running`],
  },
  {
    name: 'pulling the agent image',
    pod: pod({ conditions: scheduled, init: [waiting(COPY_AGENT, AGENT_IMAGE, 'PodInitializing'), waiting(COPY_FILES, APP_IMAGE, 'PodInitializing')] }),
    events: [event('Normal', 'Pulling', `Pulling image "${AGENT_IMAGE}"`, 1)],
    kind: 'waiting',
    says: [`init container ${COPY_AGENT} is PodInitializing`],
  },
  {
    name: 'the app container being created',
    pod: pod({ conditions: scheduled, init: initDone, app: waiting(APP_CONTAINER, APP_IMAGE, 'ContainerCreating') }),
    kind: 'waiting',
    says: ["the agent's container is ContainerCreating"],
  },
  {
    name: 'the agent exited once and is being restarted, not yet in back-off',
    pod: pod({ phase: 'Running', conditions: scheduled, init: initDone, app: { ...terminated(APP_CONTAINER, APP_IMAGE, 1, 'Error'), restartCount: 1 } }),
    kind: 'waiting',
    says: ["the agent's container"],
  },
];

const OTHERS: Row[] = [
  { name: 'running: the agent is up', pod: pod({ phase: 'Running', conditions: scheduled, init: initDone, app: running(APP_CONTAINER, APP_IMAGE) }), kind: 'ready' },
  { name: 'running, with an ephemeral source volume', pod: pod({ phase: 'Running', conditions: scheduled, init: initDone, app: running(APP_CONTAINER, APP_IMAGE), claim: false }), kind: 'ready' },
  { name: 'terminating while still running', pod: pod({ phase: 'Running', conditions: scheduled, init: initDone, app: running(APP_CONTAINER, APP_IMAGE), deleting: true }), kind: 'gone' },
  { name: 'terminating while its image cannot be pulled', pod: pod({ conditions: scheduled, init: [waiting(COPY_AGENT, AGENT_IMAGE, 'ImagePullBackOff')], deleting: true }), kind: 'gone' },
  { name: 'succeeded', pod: pod({ phase: 'Succeeded', init: initDone, app: terminated(APP_CONTAINER, APP_IMAGE, 0, 'Completed') }), kind: 'gone' },
  { name: 'failed (evicted)', pod: pod({ phase: 'Failed', init: initDone, app: terminated(APP_CONTAINER, APP_IMAGE, 137, 'OOMKilled') }), kind: 'gone' },
];

describe('diagnosePod', () => {
  it.each([...FAILED, ...WAITING, ...OTHERS].map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const verdict = diagnosePod(row.pod, row.events);
    expect(verdict.kind).toBe(row.kind);
    expect(verdict.pod).toBe(POD);
    const text = verdict.kind === 'failed' ? verdict.error.message : verdict.kind === 'waiting' ? verdict.why : '';
    if (verdict.kind === 'failed') expect(verdict.error.code).toBe(row.code);
    for (const s of row.says ?? []) expect(text).toContain(s);
    // A terminal shows it as one line after its code.
    expect(text).not.toMatch(/\n/);
  });

  it('a pod held by an unbound claim names it; the claim\'s newest event says why', () => {
    const verdict = diagnosePod(pod({ conditions: unschedulable(UNBOUND) }));
    expect(verdict).toMatchObject({ kind: 'waiting', unboundClaims: [CLAIM] });
    // Not when it is room that lacks.
    expect(diagnosePod(pod({ conditions: unschedulable('0/1 nodes are available: 1 Insufficient cpu.') }))).not.toHaveProperty('unboundClaims');

    const claimEvent = (type: 'Normal' | 'Warning', reason: string, message: string, at: number): CoreV1Event => ({
      ...event(type, reason, message, at),
      involvedObject: { kind: 'PersistentVolumeClaim', name: CLAIM },
    });
    expect(claimWaiting(CLAIM, [])).toBeNull();
    expect(
      claimWaiting(CLAIM, [
        claimEvent('Normal', 'ExternalProvisioning', "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path'", 1),
        claimEvent('Normal', 'FailedBinding', 'no persistent volumes available for this claim and no storage class is set', 5),
        claimEvent('Warning', 'ProvisioningFailed', 'storageclass.storage.k8s.io "fast-ssd" not found\n', 3),
      ]),
    ).toBe(`claim ${CLAIM}: no persistent volumes available for this claim and no storage class is set`);
    expect(claimWaiting(CLAIM, [claimEvent('Warning', 'ProvisioningFailed', 'storageclass.storage.k8s.io "fast-ssd" not found\n  (retrying)', 3)])).toBe(
      `claim ${CLAIM}: storageclass.storage.k8s.io "fast-ssd" not found (retrying)`,
    );
  });

  it('a failure wins over any wait; the first failing container is the one named', () => {
    const both = pod({ conditions: scheduled, init: [waiting(COPY_AGENT, AGENT_IMAGE, 'ErrImagePull', PULL_ERROR)], app: crashLooping(APP_CONTAINER, APP_IMAGE, 2) });
    const verdict = diagnosePod(both);
    expect(verdict.kind).toBe('failed');
    expect(verdict.kind === 'failed' && verdict.error.code).toBe(ErrorCode.IMAGE_MISSING);
  });

  it('a long message is cut, not the verdict', () => {
    const long = 'x'.repeat(5000);
    const verdict = diagnosePod(pod({ conditions: scheduled, init: initDone, app: waiting(APP_CONTAINER, APP_IMAGE, 'CreateContainerConfigError', long) }));
    expect(verdict.kind === 'failed' && verdict.error.message.length).toBeLessThan(1000);
  });
});
