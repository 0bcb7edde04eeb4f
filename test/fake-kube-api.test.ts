import { describe, expect, it } from 'vitest';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  VersionApi,
  Watch,
  makeInformer,
  type KubernetesObject,
  type V1Secret,
} from '@kubernetes/client-node';
import { rawRequest, waitForObject, WAIT_MS } from './support/fake-kube/client-helpers.ts';
import { useFakeKube } from './support/kube-clients.ts';

/**
 * The fake API server as @kubernetes/client-node 1.x sees it: discovery,
 * bearer auth, server-side apply (idempotent, field ownership, conflicts),
 * the real Status errors, label and field selection, deletion by label, and
 * list/watch with resourceVersions, including the 410s that make a client
 * re-list. Every object is namespaced by test so the tests share one double.
 */

const fake = useFakeKube();

const MANAGER = 'skiff';

/** A served object as the tests read it: typed metadata, the rest loose. */
type Obj = KubernetesObject & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function apply(obj: object, manager = MANAGER, force = true): Promise<Obj> {
  return fake.objects.patch(structuredClone(obj) as KubernetesObject, undefined, undefined, manager, force, PatchStrategy.ServerSideApply) as Promise<Obj>;
}

async function namespace(name: string): Promise<string> {
  await fake.core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** The ApiException a call rejects with, its body parsed (client-node hands the Status over as text). */
async function failureOf(call: Promise<unknown>): Promise<{ code: number; body: { reason?: string; message?: string; code?: number; details?: { causes?: { field: string; reason: string }[] } } }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ApiException)) throw new Error(`expected an ApiException, got ${String(err)}`);
  const body = typeof err.body === 'string' && err.body !== '' ? JSON.parse(err.body) : (err.body ?? {});
  return { code: err.code, body };
}

function secret(ns: string, name: string, labels: Record<string, string>, token: string): V1Secret & KubernetesObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns, labels }, stringData: { token } };
}

describe('discovery and auth', () => {
  it('answers /version and the discovery documents client-node reads', async () => {
    const version = await fake.kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toContain('fake-kube');
    // KubernetesObjectApi finds a kind's URL through /api/v1 and /apis/apps/v1.
    const deployments = await fake.objects.list('apps/v1', 'Deployment', 'default');
    expect(deployments.items).toEqual([]);
    const claims = await fake.objects.list('v1', 'PersistentVolumeClaim', 'default');
    expect(claims.items).toEqual([]);
    const unserved = await fake.objects.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' } }).catch((e: Error) => e);
    expect(String(unserved)).toContain('Unrecognized API version and kind: v1 ConfigMap');
    expect(fake.kube.requests.some((r) => r.path === '/apis/apps/v1')).toBe(true);
  });

  it('refuses a wrong bearer token with 401', async () => {
    const bad = new KubeConfig();
    bad.loadFromString(JSON.stringify({ ...fake.kube.kubeconfig, users: [{ name: 'fake-kube', user: { token: 'wrong' } }] }));
    const failure = await failureOf(bad.makeApiClient(CoreV1Api).listNamespace());
    expect(failure.code).toBe(401);
  });
});

describe('server-side apply', () => {
  it('creates, then re-applies without change keeping the resourceVersion, and records one Apply entry', async () => {
    const ns = await namespace('apply-idem');
    const obj = secret(ns, 'agent-token', { 'app.kubernetes.io/managed-by': 'skiff' }, 'a'.repeat(32));
    const first = await apply(obj);
    const second = await apply(obj);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    expect(second.metadata?.uid).toBe(first.metadata?.uid);
    const managed = second.metadata?.managedFields ?? [];
    expect(managed.map((m) => [m.manager, m.operation])).toEqual([[MANAGER, 'Apply']]);
    // stringData is folded into data, as the real server stores a Secret.
    const read = await fake.core.readNamespacedSecret({ name: 'agent-token', namespace: ns });
    expect(Buffer.from(read.data!.token, 'base64').toString()).toBe('a'.repeat(32));
    expect(read.stringData).toBeUndefined();
  });

  it('merges a changed apply, and drops what the manager stopped applying', async () => {
    const ns = await namespace('apply-merge');
    const base = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns, labels: { a: '1', b: '2' } }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } };
    const first = await apply(base);
    expect(first.metadata?.labels).toEqual({ a: '1', b: '2' });
    const svcSpec = (first as { spec?: { clusterIP?: string; ports?: { protocol?: string; targetPort?: unknown }[] } }).spec!;
    expect(svcSpec.clusterIP).toMatch(/^10\.96\./);
    expect(svcSpec.ports?.[0]).toMatchObject({ protocol: 'TCP', targetPort: 80 });
    const second = await apply({ ...base, metadata: { ...base.metadata, labels: { a: '1', c: '3' } } });
    expect(second.metadata?.labels).toEqual({ a: '1', c: '3' });
    expect(Number(second.metadata?.resourceVersion)).toBeGreaterThan(Number(first.metadata?.resourceVersion));
    // The allocated clusterIP survives applies that do not mention it.
    expect((second as { spec?: { clusterIP?: string } }).spec?.clusterIP).toBe(svcSpec.clusterIP);
  });

  it('reports a conflict with another manager (409, FieldManagerConflict), and force takes the field', async () => {
    const ns = await namespace('apply-conflict');
    await apply(secret(ns, 's', { owner: 'first' }, 'x'.repeat(32)), 'first-manager');
    const conflict = await failureOf(apply(secret(ns, 's', { owner: 'second' }, 'x'.repeat(32)), 'second-manager', false));
    expect(conflict.code).toBe(409);
    expect(conflict.body.reason).toBe('Conflict');
    expect(conflict.body.message).toContain('conflict with "first-manager"');
    expect(conflict.body.details?.causes?.map((c) => [c.reason, c.field])).toContainEqual(['FieldManagerConflict', '.metadata.labels.owner']);
    const forced = await apply(secret(ns, 's', { owner: 'second' }, 'x'.repeat(32)), 'second-manager', true);
    expect(forced.metadata?.labels).toEqual({ owner: 'second' });
    const managers = (forced.metadata?.managedFields ?? []).map((m) => m.manager).sort();
    expect(managers).toEqual(['first-manager', 'second-manager']);
  });

  it('requires a fieldManager for apply (422), and refuses a body whose kind is not the URL\'s (400)', async () => {
    const ns = await namespace('apply-bad');
    const noManager = await failureOf(fake.objects.patch(secret(ns, 's', {}, 'y'.repeat(32)), undefined, undefined, undefined, undefined, PatchStrategy.ServerSideApply));
    expect(noManager.code).toBe(422);
    const res = await rawRequest(fake.kube, 'PATCH', `/api/v1/namespaces/${ns}/secrets/s?fieldManager=x`, {
      'content-type': 'application/apply-patch+yaml',
      body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: s\n',
    });
    expect(res.code).toBe(400);
    expect((res.json as { message: string }).message).toContain('does not match the expected kind');
  });
});

describe('errors shaped like the real API', () => {
  it('404 NotFound, 409 AlreadyExists, 422 Invalid with causes', async () => {
    const ns = await namespace('errors');
    const missing = await failureOf(fake.core.readNamespacedPod({ name: 'nope', namespace: ns }));
    expect(missing).toMatchObject({ code: 404, body: { reason: 'NotFound', message: 'pods "nope" not found' } });
    const missingDeploy = await failureOf(fake.apps.readNamespacedDeployment({ name: 'nope', namespace: ns }));
    expect(missingDeploy.body.message).toBe('deployments.apps "nope" not found');

    await fake.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'dup' }, data: {} } });
    const dup = await failureOf(fake.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'dup' }, data: {} } }));
    expect(dup).toMatchObject({ code: 409, body: { reason: 'AlreadyExists' } });

    const invalid = await failureOf(
      apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'bad', namespace: ns },
        spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'y' } }, spec: { containers: [{ name: 'app' }] } } },
      }),
    );
    expect(invalid.code).toBe(422);
    expect(invalid.body.reason).toBe('Invalid');
    const fields = invalid.body.details?.causes?.map((c) => c.field) ?? [];
    expect(fields).toContain('spec.template.metadata.labels');
    expect(fields).toContain('spec.template.spec.containers[0].image');

    const noNamespace = await failureOf(apply(secret('no-such-namespace', 's', {}, 'z'.repeat(32))));
    expect(noNamespace).toMatchObject({ code: 404, body: { message: 'namespaces "no-such-namespace" not found' } });
  });

  it('guards immutable fields on update (422)', async () => {
    const ns = await namespace('immutable');
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'src', namespace: ns }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
    await apply(claim);
    const changed = await failureOf(apply({ ...claim, spec: { ...claim.spec, accessModes: ['ReadWriteMany'] } }));
    expect(changed.code).toBe(422);
    expect(changed.body.message).toContain('spec is immutable after creation');
  });
});

describe('selection and deletion by label', () => {
  it('lists by label and field, deletes a collection by label, leaves the rest', async () => {
    const ns = await namespace('by-label');
    const mine = { 'app.kubernetes.io/managed-by': 'skiff', 'app.kubernetes.io/instance': 'demo' };
    await apply(secret(ns, 'demo-token', mine, 't'.repeat(32)));
    await apply(secret(ns, 'other-token', { 'app.kubernetes.io/instance': 'other' }, 'u'.repeat(32)));
    await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'demo', namespace: ns, labels: mine }, spec: { ports: [{ port: 7070 }] } });

    const selector = 'app.kubernetes.io/managed-by=skiff,app.kubernetes.io/instance=demo';
    const listed = await fake.core.listNamespacedSecret({ namespace: ns, labelSelector: selector });
    expect(listed.items.map((s) => s.metadata?.name)).toEqual(['demo-token']);
    const byField = await fake.core.listNamespacedSecret({ namespace: ns, fieldSelector: 'metadata.name=other-token' });
    expect(byField.items.map((s) => s.metadata?.name)).toEqual(['other-token']);
    const setBased = await fake.core.listNamespacedSecret({ namespace: ns, labelSelector: 'app.kubernetes.io/instance in (demo,other)' });
    expect(setBased.items).toHaveLength(2);
    const badField = await failureOf(fake.core.listNamespacedPod({ namespace: ns, fieldSelector: 'spec.image=x' }));
    expect(badField).toMatchObject({ code: 400, body: { message: 'field label not supported: spec.image (resource pods)' } });

    await fake.core.deleteCollectionNamespacedSecret({ namespace: ns, labelSelector: selector });
    await fake.core.deleteNamespacedService({ name: 'demo', namespace: ns });
    const left = await fake.core.listNamespacedSecret({ namespace: ns });
    expect(left.items.map((s) => s.metadata?.name)).toEqual(['other-token']);
    expect((await fake.core.listNamespacedService({ namespace: ns })).items).toHaveLength(0);
  });
});

describe('list and watch', () => {
  it('watches from a list resourceVersion: ADDED, MODIFIED, DELETED in order, nothing from before', async () => {
    const ns = await namespace('watch-order');
    await apply(secret(ns, 'before', {}, 'b'.repeat(32)));
    const list = await fake.core.listNamespacedSecret({ namespace: ns });
    const seen: string[] = [];
    let controller: AbortController | undefined;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watch saw only ${seen.join(', ')}`)), WAIT_MS);
      void new Watch(fake.kc)
        .watch(
          `/api/v1/namespaces/${ns}/secrets`,
          { resourceVersion: list.metadata!.resourceVersion! },
          (type, obj: KubernetesObject) => {
            seen.push(`${type} ${obj.metadata?.name}`);
            if (type === 'DELETED') {
              clearTimeout(timer);
              resolve();
            }
          },
          () => undefined,
        )
        .then((c) => (controller = c));
    });
    // The watch replays from the list's resourceVersion, so writes may start at once.
    await apply(secret(ns, 'during', {}, 'c'.repeat(32)));
    await apply(secret(ns, 'during', { changed: 'yes' }, 'c'.repeat(32)));
    await fake.core.deleteNamespacedSecret({ name: 'during', namespace: ns });
    await done;
    controller?.abort();
    expect(seen).toEqual(['ADDED during', 'MODIFIED during', 'DELETED during']);
  });

  it('with a label selector, sends DELETED when an object stops matching and ADDED when it matches again; BOOKMARKs when allowed', async () => {
    const ns = await namespace('watch-selector');
    const seen: string[] = [];
    const waiters: (() => void)[] = [];
    const until = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`watch saw only ${seen.join(', ')}`)), WAIT_MS);
        const check = () => (seen.length >= n ? (clearTimeout(timer), resolve()) : waiters.push(check));
        check();
      });
    const controller = await new Watch(fake.kc).watch(
      `/api/v1/namespaces/${ns}/secrets`,
      { labelSelector: 'tier=web', allowWatchBookmarks: 'true' },
      (type, obj: KubernetesObject) => {
        seen.push(type === 'BOOKMARK' ? `BOOKMARK ${obj.metadata?.resourceVersion}` : `${type} ${obj.metadata?.name} ${obj.metadata?.labels?.tier}`);
        for (const w of waiters.splice(0)) w();
      },
      () => undefined,
    );
    await apply(secret(ns, 's', { tier: 'web' }, 'w'.repeat(32)));
    await until(1);
    await apply(secret(ns, 's', { tier: 'db' }, 'w'.repeat(32)));
    await until(2);
    await apply(secret(ns, 's', { tier: 'web' }, 'w'.repeat(32)));
    await until(3);
    fake.kube.sendBookmarks();
    await until(4);
    controller.abort();
    expect(seen).toEqual(['ADDED s web', 'DELETED s db', 'ADDED s web', `BOOKMARK ${fake.kube.resourceVersion()}`]);
  });

  it('answers a watch from a compacted resourceVersion with an ERROR event carrying 410 Expired', async () => {
    const ns = await namespace('watch-expired');
    await apply(secret(ns, 'one', {}, 'd'.repeat(32)));
    const list = await fake.core.listNamespacedSecret({ namespace: ns });
    await apply(secret(ns, 'two', {}, 'e'.repeat(32)));
    fake.kube.compactHistory();
    const error = await waitForObject<KubernetesObject & { code?: number; reason?: string }>(
      fake.kc,
      `/api/v1/namespaces/${ns}/secrets`,
      { resourceVersion: list.metadata!.resourceVersion! },
      (type) => type === 'ERROR',
      'the ERROR event',
    );
    expect(error).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  it('makes an informer re-list after its watch expires (ERROR 410) and after an HTTP 410', async () => {
    const ns = await namespace('informer');
    const path = `/api/v1/namespaces/${ns}/secrets`;
    const informer = makeInformer(fake.kc, path, () => fake.core.listNamespacedSecret({ namespace: ns }));
    const added = new Map<string, () => void>();
    const addedNamed = (name: string) => new Promise<void>((resolve) => added.set(name, resolve));
    informer.on('add', (obj) => added.get(obj.metadata?.name ?? '')?.());
    const lists = () => fake.kube.requests.filter((r) => r.method === 'GET' && r.path === path && r.query.watch === undefined).length;

    const first = addedNamed('first');
    await apply(secret(ns, 'first', {}, 'f'.repeat(32)));
    await informer.start();
    await first;
    // start() resolves once its watch request was answered: the watch is open.
    expect(fake.kube.openWatches('secrets')).toBe(1);
    expect(lists()).toBe(1);

    // ERROR 410 on the open watch: the informer drops its resourceVersion and lists again.
    expect(fake.kube.expireWatches('secrets')).toBeGreaterThan(0);
    const second = addedNamed('second');
    await apply(secret(ns, 'second', {}, 'g'.repeat(32)));
    await second;
    // Whether "second" came with the new list or on the new watch, the list came first.
    expect(lists()).toBe(2);

    // A server-side end (or none, if the re-watch is still on its way), then an HTTP 410 on the re-watch: a third list.
    fake.kube.injectFault({ method: 'GET', pathPrefix: path, watch: true, code: 410, reason: 'Gone', message: 'the watch expired (fake-kube fault)' });
    fake.kube.closeWatches('secrets');
    const third = addedNamed('third');
    await apply(secret(ns, 'third', {}, 'h'.repeat(32)));
    await third;
    expect(lists()).toBe(3);
    await informer.stop();
  });
});
