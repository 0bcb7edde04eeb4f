import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { pushTimeoutFromEnv } from '../../config/duration.ts';
import { Target } from '../../config/target.ts';
import { findAgentBundle } from '../agent-bundle.ts';
import { waitForAgent } from '../agent-probe.ts';
import { instanceOf, LABEL_INSTANCE } from '../instance.ts';
import { newToken } from '../local.ts';
import { AGENT_PORT, assertAppPortsFree } from '../pod-shape.ts';
import type { AgentPlace, TargetContext, TargetDriver } from '../target.ts';
import { apply, deleteObject, listObjects, openKube, readObject, type KubeAccess } from './kube-api.ts';
import { appDeployment, appService, kubeNames, sourceClaim, TOKEN_KEY, tokenSecret, type KubeObjectsInput } from './objects.ts';
import { diagnosePod } from './pod-diagnosis.ts';
import { PodWatch } from './pod-watch.ts';
import { podEvents, waitForReadyPod } from './pod-wait.ts';
import { PortForward } from './port-forward.ts';
import { forwardFailureLevel } from './forward-failure.ts';

/** The kinds `skiff delete` removes, by the instance label. */
const OWNED_KINDS: ReadonlyArray<{ apiVersion: string; kind: string }> = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
];

/**
 * The Kubernetes target: what `odo push` created — a Deployment whose init
 * containers copy the agent in and seed the source volume, the agent as PID 1
 * of the app container, a Service for the app's ports, a Secret with the
 * agent's token and a claim for the source — applied with server-side apply
 * (field manager "skiff") on every start, so a run with nothing changed
 * changes nothing. The agent listens on the pod's loopback and is reached
 * only by port-forward through the API server; so are the app's ports, each
 * forwarded to 127.0.0.1. Forwards follow the pod when it is replaced.
 */
export function kubernetesTarget(ctx: TargetContext): TargetDriver {
  if (ctx.localRoot !== undefined) throw new SkiffError(ErrorCode.USAGE, '--local-root is for the local target; the kubernetes target keeps the source in a volume');
  if (!ctx.config.image) throw new SkiffError(ErrorCode.CONFIG, 'skiff.yaml: the kubernetes target needs "image": the app\'s image, e.g. image: node:20-bookworm-slim');
  const image = ctx.config.image;
  assertAppPortsFree(ctx.config.ports, 'kubernetes');
  const instance = instanceOf(ctx.projectRoot, ctx.config.name);
  const selector = `${LABEL_INSTANCE}=${instance.name}`;
  let kube: KubeAccess | null = null;
  let watch: PodWatch | null = null;
  let agentForward: PortForward | null = null;
  let appForwards: PortForward[] = [];

  const access = async (): Promise<KubeAccess> => {
    kube ??= await openKube({ context: ctx.kubeContext ?? ctx.config.kubernetes.context, namespace: ctx.namespace ?? ctx.config.kubernetes.namespace });
    return kube;
  };
  /** What the API server or the kubelet said when a forwarded connection failed: the session only sees it end. */
  const forwardError = (port: number, appPort: boolean) => (message: string) =>
    ctx.log?.(forwardFailureLevel(appPort, message), `port-forward to port ${port} of ${instance.name}'s pod: ${message}`);
  /** The newest pod whose agent is up: where new connections go. */
  const readyPod = (): string | null => watch?.snapshot().find((p) => diagnosePod(p).kind === 'ready')?.metadata?.name ?? null;

  const closeForwards = () => {
    agentForward?.close();
    agentForward = null;
    for (const f of appForwards) f.close();
    appForwards = [];
    watch?.close();
    watch = null;
  };

  const objectsInput = async (k: KubeAccess): Promise<KubeObjectsInput> => {
    const bundle = await findAgentBundle();
    return { instance, namespace: k.namespace, config: ctx.config, image, agentImage: ctx.config.agentImage ?? `skiff-agent:${bundle.manifest.version}`, manifest: bundle.manifest };
  };

  return {
    kind: Target.KUBERNETES,
    detached: true,

    async start(): Promise<AgentPlace> {
      const k = await access();
      const input = await objectsInput(k);
      const token = await ensureToken(k, input);
      const claim = sourceClaim(input);
      if (claim) await apply(k, claim);
      const service = appService(input);
      if (service) await apply(k, service);
      await apply(k, appDeployment(input));

      const deadline = Date.now() + pushTimeoutFromEnv(process.env).ms;
      if (!watch) {
        watch = new PodWatch(k, selector);
        await watch.ready;
      }
      const pod = await waitForReadyPod(k, watch, deadline);
      if (!agentForward) {
        agentForward = new PortForward({ kube: k, pod: readyPod, remotePort: AGENT_PORT, localPort: 0, onError: forwardError(AGENT_PORT, false) });
        await agentForward.listen();
      }
      if (appForwards.length === 0) {
        for (const p of ctx.config.ports) {
          const forward = new PortForward({ kube: k, pod: readyPod, remotePort: p.container, localPort: p.host ?? p.container, onError: forwardError(p.container, true) });
          await forward.listen();
          appForwards.push(forward);
        }
      }
      const w = watch;
      await waitForAgent(`http://127.0.0.1:${agentForward.port}/`, {
        deadline,
        check: async () => {
          const current = w.get(pod);
          const verdict = current ? diagnosePod(current, await podEvents(k, pod)) : null;
          if (verdict?.kind === 'failed') throw verdict.error;
        },
        onTimeout: async () => new SkiffError(ErrorCode.TIMEOUT, `pod ${pod} runs, but its agent did not answer through the port-forward within the push timeout (SKIFF_PUSH_TIMEOUT)`),
      });
      const gone = new Promise<{ reason: string }>((resolve) => {
        const off = w.onChange(() => {
          const current = w.get(pod);
          if (current && diagnosePod(current).kind === 'ready') return;
          off();
          resolve({ reason: current ? `pod ${pod} stopped being ready` : `pod ${pod} is gone` });
        });
      });
      return {
        url: `ws://127.0.0.1:${agentForward.port}`,
        token,
        root: ctx.config.workdir,
        description: `pod ${pod} in namespace ${k.namespace}, agent as PID 1, reached by port-forward`,
        appUrls: appForwards.map((f) => `http://127.0.0.1:${f.port}`),
        gone,
        appStopping: () => {
          for (const f of appForwards) f.dropConnections();
        },
      };
    },

    async release() {
      closeForwards();
    },

    async stop() {
      closeForwards();
      if (!kube) return;
      // Scaled to zero: the app stops, the claim keeps the files for the next start.
      const input = await objectsInput(kube);
      const deployment = appDeployment(input);
      (deployment.spec as { replicas: number }).replicas = 0;
      await apply(kube, deployment);
    },

    async delete() {
      closeForwards();
      const k = await access();
      const removed: string[] = [];
      for (const { apiVersion, kind } of OWNED_KINDS) {
        for (const object of await listObjects(k, apiVersion, kind, selector)) {
          if (await deleteObject(k, { apiVersion, kind, metadata: { name: object.metadata?.name, namespace: k.namespace } } as KubernetesObject)) {
            removed.push(`${kind} ${k.namespace}/${object.metadata?.name}`);
          }
        }
      }
      await waitUntilGone(k, selector, Date.now() + DELETE_WAIT_MS);
      return removed;
    },
  };
}

/**
 * How long `skiff delete` waits for what it deleted to be gone: pods stop
 * within their grace period (30 s unless the image's app takes longer), the
 * claim goes once no pod uses it. Until then the objects are still there,
 * terminating, and a `skiff dev` run meanwhile would apply onto a claim
 * about to vanish.
 */
export const DELETE_WAIT_MS = 120_000;
/** Pause between two looks at what is still terminating. */
export const DELETE_RECHECK_MS = 500;

/** Waits until no object with the instance label is left, pods included; SKIFF_E_TIMEOUT naming what is, at the deadline. */
async function waitUntilGone(k: KubeAccess, selector: string, deadline: number): Promise<void> {
  for (;;) {
    const left: string[] = [];
    for (const { apiVersion, kind } of [...OWNED_KINDS, { apiVersion: 'v1', kind: 'Pod' }]) {
      for (const object of await listObjects(k, apiVersion, kind, selector)) left.push(`${kind} ${k.namespace}/${object.metadata?.name}`);
    }
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      throw new SkiffError(ErrorCode.TIMEOUT, `deleted, but still terminating after ${DELETE_WAIT_MS / 1000} s: ${left.join(', ')}; a pod goes after its grace period and its claim after it (kubectl describe shows what holds them)`);
    }
    await new Promise((resolve) => setTimeout(resolve, DELETE_RECHECK_MS));
  }
}

/** The agent's token from the instance's Secret, generated and stored the first time only. */
async function ensureToken(k: KubeAccess, input: KubeObjectsInput): Promise<string> {
  const existing = (await readObject(k, 'v1', 'Secret', kubeNames(input.instance).secret)) as V1Secret | null;
  const stored = existing?.data?.[TOKEN_KEY];
  if (stored) return Buffer.from(stored, 'base64').toString('utf8');
  const token = newToken();
  await apply(k, tokenSecret(input, token) as KubernetesObject);
  return token;
}
