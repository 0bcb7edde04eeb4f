import { describe, expect, it } from 'vitest';
import { CHECKED_KINDS, schemaProblems, unknownFields } from '../../../test/support/kube-schema.ts';
import { LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY } from '../src/targets/instance.ts';
import { APP_CONTAINER, appDeployment, appService, COPY_AGENT, COPY_FILES, kubeNames, sourceClaim, TOKEN_KEY, tokenSecret } from '../src/targets/kubernetes/objects.ts';
import { AGENT_PORT, TOKEN_DIR, TOKEN_FILE, TOKEN_FILE_MODE } from '../src/targets/pod-shape.ts';
import { inputOf, KUBE_CASES } from './kube-fixtures.ts';

/**
 * The manifests of objects.ts, for every configuration in KUBE_CASES:
 * valid against the Kubernetes API's schemas (offline: types, required
 * fields, and no field the schema does not declare, which server-side
 * apply refuses), and the invariants the target relies on.
 */

const TOKEN = 'a-token-that-must-only-be-in-the-secret-0123456789';

type Json = Record<string, any>;

function objectsOf(c: (typeof KUBE_CASES)[number]): Json[] {
  const input = inputOf(c);
  return [tokenSecret(input, TOKEN), sourceClaim(input), appService(input), appDeployment(input)].filter((o) => o !== null) as Json[];
}

/** DNS-1123 label: what a Service, a container, a volume or a port name must be, at most 63 characters. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** DNS-1035 label: a Service's name must also start with a letter. */
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** A label value: at most 63, alphanumerics with -_. inside. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** IANA_SVC_NAME, what a port name must be: at most 15, lowercase, a letter somewhere, no "--". */
const PORT_NAME = (s: string) => s.length <= 15 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');

describe('objects.ts manifests validate against the Kubernetes schemas', () => {
  it('the checker knows every kind the target applies, and catches what a server would refuse', () => {
    expect(CHECKED_KINDS.sort()).toEqual(['apps/v1/Deployment', 'v1/PersistentVolumeClaim', 'v1/Secret', 'v1/Service']);
    // A check that cannot fail proves nothing: a wrong type, a missing name, an unknown field each show.
    const deployment = appDeployment(inputOf(KUBE_CASES[1]));
    expect(schemaProblems({ ...deployment, spec: { ...(deployment.spec as Json), replicas: '1' } })).toEqual([expect.stringMatching(/replicas must be integer/)]);
    const spec = structuredClone(deployment.spec) as Json;
    delete spec.template.spec.containers[0].name;
    spec.template.spec.containers[0].volumeMount = [];
    spec.strateg = { type: 'Recreate' };
    expect(schemaProblems({ ...deployment, spec })).toEqual([
      expect.stringMatching(/containers\/0 must have required property name/),
      'Deployment.spec.template.spec.containers[0].volumeMount: field not declared in schema (V1Container)',
      'Deployment.spec.strateg: field not declared in schema (V1DeploymentSpec)',
    ]);
    expect(unknownFields({ metadata: { labels: { a: 'b' }, label: {} } }, 'V1Secret')).toEqual(['.metadata.label: field not declared in schema (V1ObjectMeta)']);
  });

  it.each(KUBE_CASES.map((c) => [c.name, c] as const))('%s: Secret, claim, Service and Deployment pass', (_name, c) => {
    const objects = objectsOf(c);
    expect(objects.map((o) => o.kind)).toEqual(['Secret', ...(c.yaml.includes('ephemeral: true') ? [] : ['PersistentVolumeClaim']), ...(c.yaml.includes('ports') ? ['Service'] : []), 'Deployment']);
    for (const o of objects) expect(schemaProblems(o), `${o.kind} of "${c.name}"`).toEqual([]);
  });
});

describe('objects.ts invariants', () => {
  it.each(KUBE_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const input = inputOf(c);
    const names = kubeNames(input.instance);
    const objects = objectsOf(c);
    const labels = { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_INSTANCE]: input.instance.name };

    // Every object, and the pod template, carries the two labels that find it again (skiff delete lists by the instance).
    for (const o of objects) {
      expect(o.metadata.labels, o.kind).toEqual(labels);
      expect(o.metadata.namespace, o.kind).toBe(c.namespace);
      expect(LABEL_VALUE.test(o.metadata.labels[LABEL_INSTANCE]) && o.metadata.labels[LABEL_INSTANCE].length <= 63).toBe(true);
    }
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const pod = deployment.spec.template;
    expect(pod.metadata.labels).toEqual(labels);
    expect(deployment.spec.selector).toEqual({ matchLabels: { [LABEL_INSTANCE]: input.instance.name } });

    // Names a server accepts.
    expect(deployment.metadata.name).toBe(names.deployment);
    expect(DNS_LABEL.test(names.deployment) && names.deployment.length <= 63).toBe(true);
    expect(DNS_1035.test(names.service) && names.service.length <= 63).toBe(true);
    for (const n of [names.secret, names.claim]) expect(DNS_LABEL.test(n) && n.length <= 253, n).toBe(true);

    // One replica, replaced by Recreate: two agents must never write one claim.
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });

    // Init containers in their order; the agent image only copies the agent; the app image seeds and runs.
    const spec = pod.spec;
    expect(spec.initContainers.map((x: Json) => [x.name, x.image])).toEqual([
      [COPY_AGENT, input.agentImage],
      [COPY_FILES, input.image],
    ]);
    expect(spec.containers.map((x: Json) => [x.name, x.image])).toEqual([[APP_CONTAINER, input.image]]);
    const app = spec.containers[0];
    const volumes = new Map<string, Json>(spec.volumes.map((v: Json) => [v.name, v]));
    for (const container of [...spec.initContainers, ...spec.containers]) {
      expect(DNS_LABEL.test(container.name)).toBe(true);
      for (const m of container.volumeMounts) expect(volumes.has(m.name), `${container.name} mounts ${m.name}`).toBe(true);
      expect(new Set(container.volumeMounts.map((m: Json) => m.mountPath)).size, `${container.name}: one mount per path`).toBe(container.volumeMounts.length);
    }

    // The token only through the Secret's volume: no container sees it in its environment, no literal anywhere.
    expect(JSON.stringify(deployment)).not.toContain(TOKEN);
    for (const container of [...spec.initContainers, ...spec.containers]) {
      for (const e of container.env ?? []) expect(e.valueFrom, `${container.name} env ${e.name}`).toBeUndefined();
      expect(container.envFrom).toBeUndefined();
    }
    const tokenVolumes = spec.volumes.filter((v: Json) => v.secret);
    expect(tokenVolumes).toEqual([{ name: expect.any(String), secret: { secretName: names.secret, defaultMode: TOKEN_FILE_MODE, items: [{ key: TOKEN_KEY, path: TOKEN_FILE.slice(TOKEN_DIR.length + 1) }] } }]);
    const tokenMounts = [...spec.initContainers, ...spec.containers].flatMap((x: Json) => x.volumeMounts.filter((m: Json) => m.name === tokenVolumes[0].name).map((m: Json) => [x.name, m]));
    expect(tokenMounts).toEqual([[APP_CONTAINER, { name: tokenVolumes[0].name, mountPath: TOKEN_DIR, readOnly: true }]]);
    expect(app.command.slice(app.command.indexOf('--token-file'), app.command.indexOf('--token-file') + 2)).toEqual(['--token-file', TOKEN_FILE]);
    const secret = objects.find((o) => o.kind === 'Secret')!;
    expect(secret.metadata.name).toBe(names.secret);
    expect(secret.stringData).toEqual({ [TOKEN_KEY]: TOKEN });
    expect(secret.data).toBeUndefined();

    // The agent is reached by port-forward only: not a container port, not in the Service, on loopback.
    const appPorts = input.config.ports.map((p) => p.container);
    expect(app.ports.map((p: Json) => p.containerPort)).toEqual(appPorts);
    expect(app.command.slice(app.command.indexOf('--host'), app.command.indexOf('--host') + 2)).toEqual(['--host', '127.0.0.1']);
    expect(app.command.slice(app.command.indexOf('--port'), app.command.indexOf('--port') + 2)).toEqual(['--port', String(AGENT_PORT)]);
    for (const container of [...spec.initContainers, ...spec.containers]) for (const p of container.ports ?? []) expect(p.hostPort).toBeUndefined();
    expect(spec.hostNetwork).toBeUndefined();
    const service = objects.find((o) => o.kind === 'Service');
    if (appPorts.length === 0) expect(service).toBeUndefined();
    else {
      expect(service!.metadata.name).toBe(names.service);
      expect(service!.spec.selector).toEqual({ [LABEL_INSTANCE]: input.instance.name });
      expect(service!.spec.ports.map((p: Json) => [p.port, p.targetPort])).toEqual(appPorts.map((p) => [p, p]));
      expect(service!.spec.ports.map((p: Json) => p.port)).not.toContain(AGENT_PORT);
      for (const p of service!.spec.ports) expect(PORT_NAME(p.name), p.name).toBe(true);
    }

    // The source volume: the claim unless ephemeral; the claim as skiff.yaml asks for it.
    const source = app.volumeMounts.find((m: Json) => m.mountPath === input.config.workdir);
    expect(source).toBeDefined();
    const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim');
    if (input.config.kubernetes.ephemeral) {
      expect(claim).toBeUndefined();
      expect(volumes.get(source.name)).toEqual({ name: source.name, emptyDir: {} });
    } else {
      expect(volumes.get(source.name)).toEqual({ name: source.name, persistentVolumeClaim: { claimName: names.claim } });
      expect(claim!.metadata.name).toBe(names.claim);
      expect(claim!.spec.accessModes).toEqual(['ReadWriteOnce']);
      expect(claim!.spec.resources).toEqual({ requests: { storage: input.config.kubernetes.volumeSize } });
      expect(claim!.spec.storageClassName).toBe(input.config.kubernetes.storageClass);
      expect('storageClassName' in claim!.spec).toBe(input.config.kubernetes.storageClass !== undefined);
    }

    // Pure: the same input gives the same objects, so a second apply changes nothing.
    expect(objectsOf(c)).toEqual(objects);
  });
});
