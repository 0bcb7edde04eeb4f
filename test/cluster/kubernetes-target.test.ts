import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoreV1Api, Exec, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon, type DevEvent } from '../support/dev-session.ts';
import { jsonOf, runSkiff } from '../support/run-cli.ts';
import { instanceOf } from '../../packages/daemon/src/targets/instance.ts';

/**
 * The Kubernetes target on a real one-node cluster (see setup.ts): the
 * example app deployed with `target: kubernetes`, as a user would, through
 * the `skiff` command. What a fake API server cannot prove is proved here:
 * the init containers really ran in the pod, the agent is PID 1 of the app
 * container, the page answers through a port-forward of the real API server,
 * a pod deleted by hand comes back on the same claim and the resume sends
 * nothing, a missing image is named, and `skiff delete` leaves nothing.
 */
const EXAMPLE = fileURLToPath(new URL('../../examples/hello-node', import.meta.url));
const INSTANCE_LABEL = 'app.kubernetes.io/instance';
/** Host side of the app's port: away from what other tests use. */
const APP_PORT = 18_480;

describe('the kubernetes target on a real cluster', () => {
  let work: string;
  let project: string;
  let env: NodeJS.ProcessEnv;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let terminal: DevTerminal | null = null;
  /** This project's instance: `app.kubernetes.io/instance=<name>`, as skiff labels its objects. */
  let LABEL: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-cluster-'));
    project = join(work, 'hello-node');
    await cp(EXAMPLE, project, { recursive: true });
    const yaml = (await readFile(join(project, 'skiff.yaml'), 'utf8'))
      .replace(/^target: .*$/m, 'target: kubernetes')
      .replace(/^image: .*$/m, `image: ${inject('nodeImage')}\nagentImage: ${inject('agentImage')}`)
      .replace(/^  - 8080$/m, `  - "${APP_PORT}:8080"`);
    await writeFile(join(project, 'skiff.yaml'), yaml);
    env = { ...(await privateRuntime()).env, KUBECONFIG: inject('kubeconfig') };
    kc = new KubeConfig();
    kc.loadFromFile(inject('kubeconfig'));
    core = kc.makeApiClient(CoreV1Api);
    LABEL = `${INSTANCE_LABEL}=${instanceOf(project, 'hello-node').name}`;
  });
  afterAll(async () => {
    await terminal?.detach();
    await runSkiff(['delete', project], { env, timeoutMs: 120_000 }).catch(() => undefined);
    await stopDaemon(env);
    await rm(work, { recursive: true, force: true });
  });

  const pods = async (): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace: 'default', labelSelector: LABEL })).items.filter((p) => !p.metadata?.deletionTimestamp);
  const page = async () => (await fetch(`http://127.0.0.1:${APP_PORT}/`)).text();
  const after = (t: DevTerminal, mark: number, match: (e: DevEvent) => boolean, ms = 120_000) => t.waitFor(match, ms, mark);

  it('deploys the example: init containers ran, the agent is PID 1, the page answers and follows an edit', async () => {
    const t = (terminal = new DevTerminal([project], env));
    const first = await t.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'initial', 240_000);
    expect(first.data).toMatchObject({ inSync: true });
    await t.waitFor((e) => e.event === 'app.status' && e.data.state === 'running', 60_000);

    const [pod] = await pods();
    const inits = Object.fromEntries((pod.status?.initContainerStatuses ?? []).map((s) => [s.name, s.state?.terminated?.exitCode]));
    expect(inits).toEqual({ 'copy-agent': 0, 'copy-files-to-volume': 0 });
    const cmdline = await execIn(kc, pod.metadata!.name!, ['cat', '/proc/1/cmdline']);
    expect(cmdline.split('\0')).toEqual(expect.arrayContaining(['/opt/skiff-agent/skiff-agent.js', '--root', '/tmp/src']));

    expect(await page()).toContain('Hello from skiff!');
    const mark = t.events.length;
    await writeFile(join(project, 'message.js'), "export const message = 'Edited on a real cluster';\n");
    await after(t, mark, (e) => e.event === 'app.status' && e.data.state === 'running');
    await expect.poll(page, { timeout: 30_000 }).toContain('Edited on a real cluster');
  });

  it('a pod deleted by hand comes back on the same claim: the resume sends nothing, an edit made meanwhile alone', async () => {
    const t = terminal!;
    const [before] = await pods();
    const mark = t.events.length;
    await core.deleteNamespacedPod({ namespace: 'default', name: before.metadata!.name! });
    await after(t, mark, (e) => e.event === 'agent.state' && e.data.state === 'disconnected');
    await writeFile(join(project, 'message.js'), "export const message = 'Edited while the pod was away';\n");
    const resumed = await after(t, mark, (e) => e.event === 'sync.finished' && e.data.reason === 'reconnect');
    expect(resumed.data).toMatchObject({ uploaded: 1, deleted: 0, inSync: true });
    const [now] = await pods();
    expect(now.metadata!.name).not.toBe(before.metadata!.name);
    await expect.poll(page, { timeout: 60_000 }).toContain('Edited while the pod was away');
  });

  it('skiff delete leaves no object with the instance label', async () => {
    await terminal!.detach();
    terminal = null;
    const deleted = await runSkiff(['delete', project, '--json'], { env, timeoutMs: 120_000 });
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(jsonOf<{ removed: string[] }>(deleted).removed.join('\n')).toMatch(/Deployment[\s\S]*Secret[\s\S]*PersistentVolumeClaim/);
    const apps = kc.makeApiClient(AppsV1Api);
    const left = [
      ...(await apps.listNamespacedDeployment({ namespace: 'default', labelSelector: LABEL })).items,
      ...(await core.listNamespacedService({ namespace: 'default', labelSelector: LABEL })).items,
      ...(await core.listNamespacedSecret({ namespace: 'default', labelSelector: LABEL })).items,
      ...(await core.listNamespacedPersistentVolumeClaim({ namespace: 'default', labelSelector: LABEL })).items,
      ...(await core.listNamespacedPod({ namespace: 'default', labelSelector: LABEL })).items,
    ];
    expect(left.map((o) => o.metadata?.name)).toEqual([]);
  });

  it('an image that does not exist is named, with a stable code', async () => {
    await writeFile(join(project, 'skiff.yaml'), (await readFile(join(project, 'skiff.yaml'), 'utf8')).replace(/^image: .*$/m, 'image: skiff-test-missing:does-not-exist'));
    const failed = await runSkiff(['push', project, '--json'], { env, timeoutMs: 240_000 });
    expect(failed.code).toBe(1);
    const error = (jsonOf<{ error: { code: string; message: string } }>(failed)).error;
    expect(error.code).toBe('SKIFF_E_IMAGE_MISSING');
    expect(error.message).toContain('skiff-test-missing:does-not-exist');
    expect((await runSkiff(['delete', project], { env, timeoutMs: 120_000 })).code).toBe(0);
  });
});

/** Runs a command in the app container through the API server's exec, as `kubectl exec` does; its stdout. */
async function execIn(kc: KubeConfig, pod: string, command: string[]): Promise<string> {
  let out = '';
  const stdout = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString('latin1');
      done();
    },
  });
  await new Promise<void>((resolve, reject) => {
    void new Exec(kc)
      .exec('default', pod, 'app', command, stdout, null, null, false, (status) => (status.status === 'Success' ? resolve() : reject(new Error(JSON.stringify(status)))))
      .catch(reject);
  });
  return out;
}
