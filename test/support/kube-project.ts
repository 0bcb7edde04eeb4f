import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api, KubeConfig, KubernetesObjectApi, V1Pod } from '@kubernetes/client-node';
import { instanceOf, LABEL_INSTANCE, type Instance } from '../../packages/daemon/src/targets/instance.ts';
import { kubeNames, type KubeNames } from '../../packages/daemon/src/targets/kubernetes/objects.ts';
import { DevTerminal, privateRuntime, stopDaemon } from './dev-session.ts';
import { waitForObject } from './fake-kube/client-helpers.ts';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from './fake-kube/index.ts';
import { kubeClients } from './kube-clients.ts';
import { runSkiff, type CliResult } from './run-cli.ts';
import { compareTrees } from './tree-compare.ts';

/**
 * A project that `skiff` syncs to the fake API server (test/support/fake-kube)
 * with its Kubernetes target, as a user's terminal runs it: the real skiff
 * command and daemon, KUBECONFIG pointing at the double's kubeconfig, a
 * private runtime directory (socket, daemon) and cache per project. The
 * agent runs where the double's kubelet runs it: on this machine, its root
 * being the claim's directory.
 */

/** Namespace of the double's kubeconfig context, where the target puts everything. */
export const NAMESPACE = 'default';
/** The app image skiff.yaml names; the double pulls nothing, so any name does. */
export const APP_IMAGE = 'node:20-bookworm-slim';
/** How long a test waits for the double or a session to reach a state. */
export const KUBE_WAIT_MS = 60_000;

/** What the target makes, by kind, as `skiff delete` finds it (plus the pods, which the Deployment makes). */
export const INSTANCE_KINDS = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  { apiVersion: 'v1', kind: 'Pod' },
] as const;

export class KubeProject {
  readonly terminals: DevTerminal[] = [];
  readonly instance: Instance;
  readonly names: KubeNames;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly objects: KubernetesObjectApi;

  private constructor(
    readonly kube: FakeKube,
    readonly work: string,
    readonly project: string,
    readonly env: NodeJS.ProcessEnv,
    readonly name: string,
  ) {
    this.instance = instanceOf(project, name);
    this.names = kubeNames(this.instance);
    ({ kc: this.kc, core: this.core, objects: this.objects } = kubeClients(kube));
  }

  /**
   * A fake cluster, a work directory with `project/` in it holding
   * skiff.yaml (`name` and APP_IMAGE, then `yaml`), and the environment of
   * the user's terminal (`env` added).
   */
  static async start(opts: { name: string; yaml?: string; env?: NodeJS.ProcessEnv; fake?: FakeKubeOptions }): Promise<KubeProject> {
    const kube = await startFakeKube(opts.fake);
    const work = await mkdtemp(join(tmpdir(), 'skiff-kube-'));
    const project = join(work, 'project');
    const runtime = await privateRuntime();
    const env = { ...runtime.env, KUBECONFIG: kube.kubeconfigPath, ...opts.env };
    const p = new KubeProject(kube, work, project, env, opts.name);
    await mkdir(project, { recursive: true });
    await p.writeConfig(opts.yaml ?? '');
    return p;
  }

  /** skiff.yaml: the project's name and APP_IMAGE, then `extra` (YAML lines). */
  async writeConfig(extra: string): Promise<void> {
    await writeFile(join(this.project, 'skiff.yaml'), `name: ${JSON.stringify(this.name)}\nimage: ${APP_IMAGE}\n${extra}`);
  }

  /** `skiff dev DIR --target kubernetes --json`, detached at cleanup. */
  dev(extra: string[] = []): DevTerminal {
    const t = new DevTerminal([this.project, '--target', 'kubernetes', ...extra], this.env);
    this.terminals.push(t);
    return t;
  }

  skiff(args: string[], timeoutMs = KUBE_WAIT_MS * 2): Promise<CliResult> {
    return runSkiff(args, { env: this.env, timeoutMs });
  }

  /** Where the source volume's claim keeps its files: the agent's root. */
  claimDir(namespace = NAMESPACE): string {
    const dir = this.kube.claimDirectory(namespace, this.names.claim);
    if (dir === undefined) throw new Error(`no claim ${this.names.claim} in namespace ${namespace} of the fake cluster`);
    return dir;
  }

  /**
   * Every difference between the project and the claim's files, leaving
   * out the project's `ignored` paths and skiff's own index; empty when the
   * claim holds the project byte for byte.
   */
  differences(ignored: readonly string[], namespace = NAMESPACE): Promise<string[]> {
    return compareTrees(this.project, this.claimDir(namespace), (rel) => rel === '.skiff' || ignored.includes(rel));
  }

  /** The instance's pods, as the API lists them. */
  async pods(): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${LABEL_INSTANCE}=${this.instance.name}` })).items;
  }

  /** Waits for a Running pod of the instance, not terminating, other than `except`; resolves with its name. */
  async runningPod(except?: string): Promise<string> {
    const pod = await waitForObject<V1Pod>(
      this.kc,
      `/api/v1/namespaces/${NAMESPACE}/pods`,
      { labelSelector: `${LABEL_INSTANCE}=${this.instance.name}` },
      (type, p) => type !== 'DELETED' && p.metadata?.name !== except && !p.metadata?.deletionTimestamp && p.status?.phase === 'Running' && p.status.containerStatuses?.some((s) => s.state?.running) === true,
      `a running pod of ${this.instance.name}${except ? ` other than ${except}` : ''}`,
      KUBE_WAIT_MS,
    );
    return pod.metadata!.name!;
  }

  /** Deletes a pod, as `kubectl delete pod` does (gracefully); the Deployment makes a new one. */
  async deletePod(name: string): Promise<void> {
    await this.core.deleteNamespacedPod({ name, namespace: NAMESPACE });
  }

  /** Every object carrying the instance label, as `kind/name` lines, each kind listed on its own. */
  async instanceObjects(namespace = NAMESPACE): Promise<string[]> {
    const found: string[] = [];
    for (const { apiVersion, kind } of INSTANCE_KINDS) {
      const list = await this.objects.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, `${LABEL_INSTANCE}=${this.instance.name}`);
      for (const o of list.items) found.push(`${kind}/${o.metadata?.name}${o.metadata?.deletionTimestamp ? ' (terminating)' : ''}`);
    }
    return found;
  }

  /** Detaches every terminal, stops the daemon, stops the fake cluster, removes the work directory. */
  async cleanup(): Promise<void> {
    for (const t of this.terminals.splice(0)) await t.detach();
    await stopDaemon(this.env);
    await this.kube.stop();
    await rm(this.work, { recursive: true, force: true });
    if (this.env.SKIFF_RUNTIME_DIR) await rm(this.env.SKIFF_RUNTIME_DIR, { recursive: true, force: true });
  }
}

/** How often `until` looks at the double's own state (its watches, its request log, a claim's files): there is no event for it. */
export const STATE_POLL_MS = 10;

/** Resolves once `check` holds, looking every `everyMs`; rejects at the deadline with `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, everyMs = STATE_POLL_MS, timeoutMs = KUBE_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
