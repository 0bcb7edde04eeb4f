import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  PatchStrategy,
  type CoreV1Event,
  type KubernetesObject,
  type V1Pod,
} from '@kubernetes/client-node';
import { AgentClient, runPush } from '@skiff/daemon';
import { forwardPort, waitForObject } from './support/fake-kube/client-helpers.ts';
import { childExited } from './support/fault-process.ts';
import { useFakeKube } from './support/kube-clients.ts';

/**
 * The fake node as skiff's Kubernetes target will meet it: a Deployment of
 * the target's pod shape (init containers copy-agent and
 * copy-files-to-volume, the agent as the app container's command, the token
 * from a Secret, the source on a claim) becomes a Running pod whose real
 * agent answers through client-node's PortForward; a deleted pod comes back
 * with a new agent on the same claim; a missing image, a crash-looping
 * container and a claim that does not bind show the states and events a
 * cluster shows. Each test has its own namespace.
 */

const AGENT_PORT = 7070;
const LABELS = { 'app.kubernetes.io/managed-by': 'skiff', 'app.kubernetes.io/instance': 'demo' };
const SELECTOR = 'app.kubernetes.io/managed-by=skiff,app.kubernetes.io/instance=demo';
const TOKEN = 'f'.repeat(16) + '0123456789abcdef'.repeat(2);

const fake = useFakeKube();
const cleanups: (() => void)[] = [];

afterAll(() => {
  for (const c of cleanups) c();
});

function apply(obj: object): Promise<KubernetesObject> {
  return fake.objects.patch(obj as KubernetesObject, undefined, undefined, 'skiff', true, PatchStrategy.ServerSideApply);
}

/** The objects of the target's pod shape, applied the way the target applies them. */
interface DeployOptions {
  image?: string;
  extraEnv?: { name: string; value: string }[];
  /** The agent reads its token from a file of a secret volume rather than from its environment. */
  tokenFile?: boolean;
}

async function deploy(ns: string, opts: DeployOptions = {}): Promise<void> {
  const { image = 'node:20-alpine', extraEnv = [], tokenFile = false } = opts;
  const tokenEnv = tokenFile ? [] : [{ name: 'SKIFF_AGENT_TOKEN', valueFrom: { secretKeyRef: { name: 'demo-agent-token', key: 'token' } } }];
  const tokenArgs = tokenFile ? ['--token-file', '/etc/skiff/token'] : [];
  if ((await fake.core.listNamespace({ fieldSelector: `metadata.name=${ns}` })).items.length === 0) await fake.core.createNamespace({ body: { metadata: { name: ns } } });
  const meta = (name: string) => ({ name, namespace: ns, labels: LABELS });
  await apply({ apiVersion: 'v1', kind: 'Secret', metadata: meta('demo-agent-token'), stringData: { token: TOKEN } });
  await apply({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta('demo-source'), spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  await apply({ apiVersion: 'v1', kind: 'Service', metadata: meta('demo'), spec: { selector: { 'app.kubernetes.io/instance': 'demo' }, ports: [{ name: 'agent', port: AGENT_PORT }] } });
  await apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta('demo'),
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { 'app.kubernetes.io/instance': 'demo' } },
      template: {
        metadata: { labels: LABELS },
        spec: {
          volumes: [
            { name: 'skiff-agent', emptyDir: {} },
            { name: 'source', persistentVolumeClaim: { claimName: 'demo-source' } },
            ...(tokenFile ? [{ name: 'token', secret: { secretName: 'demo-agent-token' } }] : []),
          ],
          initContainers: [
            { name: 'copy-agent', image: 'skiff-agent:0.1.0', command: ['cp', '-a', '/opt/skiff/.', '/skiff/'], volumeMounts: [{ name: 'skiff-agent', mountPath: '/skiff' }] },
            { name: 'copy-files-to-volume', image, command: ['sh', '-c', 'cp -a /app/. /tmp/src/'], volumeMounts: [{ name: 'source', mountPath: '/tmp/src' }] },
          ],
          containers: [
            {
              name: 'app',
              image,
              command: ['/skiff/lib/ld-linux.so', '/skiff/bin/node', '/skiff/skiff-agent.js'],
              args: ['--root', '/tmp/src', '--host', '127.0.0.1', '--port', String(AGENT_PORT), ...tokenArgs],
              env: [...tokenEnv, ...extraEnv],
              ports: [{ name: 'agent', containerPort: AGENT_PORT }],
              volumeMounts: [
                { name: 'skiff-agent', mountPath: '/skiff' },
                { name: 'source', mountPath: '/tmp/src' },
                ...(tokenFile ? [{ name: 'token', mountPath: '/etc/skiff', readOnly: true }] : []),
              ],
            },
          ],
        },
      },
    },
  });
}

function podsPath(ns: string): string {
  return `/api/v1/namespaces/${ns}/pods`;
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

function readyPod(ns: string, other = (_: V1Pod) => true): Promise<V1Pod> {
  return waitForObject<V1Pod>(fake.kc, podsPath(ns), { labelSelector: SELECTOR }, (type, pod) => type !== 'DELETED' && !pod.metadata?.deletionTimestamp && isReady(pod) && other(pod), 'a Ready pod');
}

function podEvents(ns: string, pod: string): Promise<CoreV1Event[]> {
  return fake.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${pod}` }).then((l) => l.items);
}

function httpStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

function upgradeStatus(port: number, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${token}` } });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', (err) => reject(err));
  });
}

/** A project directory with one file, for a push through the forwarded port. */
function project(file: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-fake-kube-project-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, file), text);
  return dir;
}

describe('a Deployment of the target pod shape', () => {
  it('becomes a Running pod whose agent answers, and takes a push, through PortForward', async () => {
    const ns = 'shape';
    await deploy(ns);
    const pod = await readyPod(ns);
    const name = pod.metadata!.name!;
    expect(name).toMatch(/^demo-[a-z0-9]{10}-[a-z0-9]{5}$/);
    expect(pod.metadata?.labels).toMatchObject({ ...LABELS, 'pod-template-hash': expect.any(String) });
    expect(pod.spec?.nodeName).toBeTruthy();
    expect(pod.status?.initContainerStatuses?.map((s) => [s.name, s.state?.terminated?.reason])).toEqual([
      ['copy-agent', 'Completed'],
      ['copy-files-to-volume', 'Completed'],
    ]);
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({ name: 'app', ready: true, restartCount: 0, state: { running: {} } });
    const reasons = (await podEvents(ns, name)).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Scheduled', 'Created', 'Started']));
    const deployment = await fake.apps.readNamespacedDeployment({ name: 'demo', namespace: ns });
    expect(deployment.status).toMatchObject({ readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1, observedGeneration: 1 });

    const forwarded = await forwardPort(fake.kc, ns, name, AGENT_PORT);
    try {
      expect(await httpStatus(forwarded.port)).toBe(426);
      expect(await upgradeStatus(forwarded.port, 'not-the-token-'.repeat(4))).toBe(401);
      const dir = project('hello.txt', 'hello through the port-forward\n');
      const result = await runPush({ dir, connect: () => AgentClient.connect(`ws://127.0.0.1:${forwarded.port}`, TOKEN), timeoutMs: 30_000 });
      expect(result.uploaded).toBe(1);
      const claimDir = fake.kube.claimDirectory(ns, 'demo-source')!;
      expect(readFileSync(join(claimDir, 'hello.txt'), 'utf8')).toBe('hello through the port-forward\n');
    } finally {
      await forwarded.close();
    }
  });

  it('runs an agent that reads its token from a secret volume (--token-file)', async () => {
    const ns = 'token-file';
    await deploy(ns, { tokenFile: true });
    const pod = await readyPod(ns);
    const forwarded = await forwardPort(fake.kc, ns, pod.metadata!.name!, AGENT_PORT);
    try {
      const client = await AgentClient.connect(`ws://127.0.0.1:${forwarded.port}`, TOKEN);
      expect(client.hello).toBeTruthy();
      await client.close();
    } finally {
      await forwarded.close();
    }
  });

  it('comes back after its pod is deleted: a new pod, a new agent process, the same claim', async () => {
    const ns = 'replace';
    await deploy(ns);
    const first = await readyPod(ns);
    const firstName = first.metadata!.name!;
    const firstAgent = fake.kube.containerProcess(ns, firstName, 'app')!;
    const forwarded = await forwardPort(fake.kc, ns, firstName, AGENT_PORT);
    try {
      await runPush({ dir: project('kept.txt', 'survives the pod\n'), connect: () => AgentClient.connect(`ws://127.0.0.1:${forwarded.port}`, TOKEN), timeoutMs: 30_000 });
    } finally {
      await forwarded.close();
    }

    const gone = waitForObject<V1Pod>(fake.kc, podsPath(ns), {}, (type, pod) => type === 'DELETED' && pod.metadata?.name === firstName, 'the old pod deleted');
    await fake.core.deleteNamespacedPod({ name: firstName, namespace: ns });
    const second = await readyPod(ns, (pod) => pod.metadata?.name !== firstName);
    await gone;
    await childExited(firstAgent.child, 'the first pod\'s agent');
    const secondName = second.metadata!.name!;
    const secondAgent = fake.kube.containerProcess(ns, secondName, 'app')!;
    expect(secondAgent.pid).not.toBe(firstAgent.pid);

    const again = await forwardPort(fake.kc, ns, secondName, AGENT_PORT);
    try {
      const client = await AgentClient.connect(`ws://127.0.0.1:${again.port}`, TOKEN);
      const inventory = await client.inventory();
      await client.close();
      expect(inventory.map((e) => e.path)).toContain('kept.txt');
    } finally {
      await again.close();
    }
  });
});

describe('a changed template', () => {
  it('rolls out per Recreate: the old pod goes first, then a pod of the new template runs', async () => {
    const ns = 'rollout';
    await deploy(ns);
    const first = await readyPod(ns);
    const firstHash = first.metadata!.labels!['pod-template-hash'];
    const firstGone = waitForObject<V1Pod>(fake.kc, podsPath(ns), {}, (type, p) => type === 'DELETED' && p.metadata?.name === first.metadata?.name, 'the old pod deleted');
    await deploy(ns, { extraEnv: [{ name: 'GREETING', value: 'hello' }] });
    const second = await readyPod(ns, (p) => p.metadata?.labels?.['pod-template-hash'] !== firstHash);
    await firstGone;
    const deployment = await fake.apps.readNamespacedDeployment({ name: 'demo', namespace: ns });
    expect(deployment.metadata?.generation).toBe(2);
    expect(deployment.status?.observedGeneration).toBe(2);
    expect(second.spec?.containers[0].env?.map((e) => e.name)).toContain('GREETING');
    const scaling = (await fake.core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.kind=Deployment,reason=ScalingReplicaSet' })).items.map((e) => e.message);
    expect(scaling).toEqual(expect.arrayContaining([`Scaled down replica set demo-${firstHash} from 1 to 0`]));
  });
});

describe('what a cluster shows when a pod cannot run', () => {
  it('a missing image: Pending, ErrImagePull then ImagePullBackOff, Warning Failed events, Running once pullable', async () => {
    const ns = 'image';
    const image = 'registry.example.test/team/app:does-not-exist';
    fake.kube.setImageMissing(image);
    try {
      await deploy(ns, { image });
      const failedEvent = waitForObject<CoreV1Event>(
        fake.kc,
        `/api/v1/namespaces/${ns}/events`,
        { fieldSelector: 'reason=Failed' },
        (_t, e) => e.message?.startsWith(`Failed to pull image "${image}"`) === true,
        'the Failed pull event',
      );
      const backingOff = await waitForObject<V1Pod>(
        fake.kc,
        podsPath(ns),
        { labelSelector: SELECTOR },
        (_t, pod) => pod.status?.initContainerStatuses?.[1]?.state?.waiting?.reason === 'ImagePullBackOff',
        'ImagePullBackOff',
      );
      expect(backingOff.status?.phase).toBe('Pending');
      expect(backingOff.status?.conditions?.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized' });
      const event = await failedEvent;
      expect(event).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Pod', name: backingOff.metadata!.name, fieldPath: 'spec.initContainers{copy-files-to-volume}' } });
      expect(event.message).toContain('code = NotFound');
      const reasons = (await podEvents(ns, backingOff.metadata!.name!)).map((e) => `${e.type} ${e.reason} ${e.message}`);
      expect(reasons).toEqual(expect.arrayContaining([`Warning Failed Error: ErrImagePull`, `Normal BackOff Back-off pulling image "${image}"`]));
    } finally {
      fake.kube.setImageMissing(image, false);
    }
    await readyPod(ns);
  });

  it('a crash-looping container: CrashLoopBackOff, restarts counted, BackOff events; Running again once fixed', async () => {
    const ns = 'crash';
    await deploy(ns);
    const running = await readyPod(ns);
    const name = running.metadata!.name!;
    fake.kube.setCrashing('app');
    try {
      const looping = await waitForObject<V1Pod>(
        fake.kc,
        podsPath(ns),
        { fieldSelector: `metadata.name=${name}` },
        (_t, pod) => pod.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' && (pod.status.containerStatuses[0].restartCount ?? 0) >= 2,
        'CrashLoopBackOff',
      );
      const status = looping.status!.containerStatuses![0];
      expect(status.ready).toBe(false);
      expect(status.lastState?.terminated?.exitCode).not.toBe(0);
      expect(looping.status?.phase).toBe('Running');
      const backOff = (await podEvents(ns, name)).find((e) => e.reason === 'BackOff');
      expect(backOff).toMatchObject({ type: 'Warning', count: expect.any(Number) });
      expect(backOff?.message).toContain('Back-off restarting failed container app');
    } finally {
      fake.kube.setCrashing('app', false);
    }
    const recovered = await readyPod(ns, (pod) => pod.metadata?.name === name);
    expect(recovered.status?.containerStatuses?.[0].restartCount).toBeGreaterThanOrEqual(2);
  });

  it('a killed container process is restarted in the same pod, with restartCount 1', async () => {
    const ns = 'kill';
    await deploy(ns);
    const pod = await readyPod(ns);
    const name = pod.metadata!.name!;
    const before = fake.kube.containerProcess(ns, name, 'app')!;
    expect(fake.kube.killContainer(ns, name, 'app')).toBe(true);
    const restarted = await readyPod(ns, (p) => p.metadata?.name === name && p.status?.containerStatuses?.[0].restartCount === 1);
    expect(restarted.status?.containerStatuses?.[0].lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(fake.kube.containerProcess(ns, name, 'app')!.pid).not.toBe(before.pid);
  });

  it('a claim that does not bind: the pod stays unscheduled with FailedScheduling until it binds', async () => {
    const ns = 'claim';
    fake.kube.setClaimsPending(true, 'demo-source');
    try {
      await deploy(ns);
      const unscheduled = await waitForObject<V1Pod>(
        fake.kc,
        podsPath(ns),
        { labelSelector: SELECTOR },
        (_t, pod) => pod.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') === true,
        'an unschedulable pod',
      );
      expect(unscheduled.spec?.nodeName).toBeUndefined();
      expect(unscheduled.status?.phase).toBe('Pending');
      const claim = await fake.core.readNamespacedPersistentVolumeClaim({ name: 'demo-source', namespace: ns });
      expect(claim.status?.phase).toBe('Pending');
      const reasons = (await podEvents(ns, unscheduled.metadata!.name!)).map((e) => `${e.type} ${e.reason}`);
      expect(reasons).toContain('Warning FailedScheduling');
    } finally {
      fake.kube.setClaimsPending(false, 'demo-source');
    }
    await readyPod(ns);
    const bound = await fake.core.readNamespacedPersistentVolumeClaim({ name: 'demo-source', namespace: ns });
    expect(bound.status?.phase).toBe('Bound');
  });
});

describe('deletion by label', () => {
  it('stops the agent, lets the claim go once no pod uses it, and removes its directory', async () => {
    const ns = 'teardown';
    await deploy(ns);
    const pod = await readyPod(ns);
    const agent = fake.kube.containerProcess(ns, pod.metadata!.name!, 'app')!;
    const claimDir = fake.kube.claimDirectory(ns, 'demo-source')!;
    expect(existsSync(claimDir)).toBe(true);
    const claimGone = waitForObject<KubernetesObject>(fake.kc, `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {}, (type) => type === 'DELETED', 'the claim deleted');
    const podGone = waitForObject<V1Pod>(fake.kc, podsPath(ns), {}, (type) => type === 'DELETED', 'the pod deleted');

    await fake.apps.deleteCollectionNamespacedDeployment({ namespace: ns, labelSelector: SELECTOR });
    await fake.core.deleteCollectionNamespacedService({ namespace: ns, labelSelector: SELECTOR });
    await fake.core.deleteCollectionNamespacedSecret({ namespace: ns, labelSelector: SELECTOR });
    await fake.core.deleteCollectionNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: SELECTOR });
    // The claim waits for its pod (kubernetes.io/pvc-protection), then goes.
    await podGone;
    await claimGone;
    await childExited(agent.child, 'the agent');
    expect(existsSync(claimDir)).toBe(false);
    for (const list of [
      await fake.core.listNamespacedPod({ namespace: ns, labelSelector: SELECTOR }),
      await fake.core.listNamespacedSecret({ namespace: ns, labelSelector: SELECTOR }),
      await fake.core.listNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: SELECTOR }),
      await fake.apps.listNamespacedDeployment({ namespace: ns, labelSelector: SELECTOR }),
    ]) {
      expect(list.items).toEqual([]);
    }
  });
});
