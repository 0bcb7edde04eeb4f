import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { skiffAgentLauncher } from './agent-launcher.ts';
import { Writer } from './api-write.ts';
import { ClaimController } from './claim-controller.ts';
import { applyDefaults, prepareCreate } from './defaults.ts';
import { Deleter } from './deletion.ts';
import { DeploymentController } from './deployment-controller.ts';
import { EventRecorder } from './event-recorder.ts';
import { Faults, type FaultRule, type LoggedRequest } from './faults.ts';
import { createApiServer } from './http-server.ts';
import { kubeconfigObject, writeKubeconfig } from './kubeconfig.ts';
import { Kubelet } from './kubelet.ts';
import type { ContainerLauncher } from './launcher.ts';
import type { ContainerProcess } from './container-process.ts';
import { DEFAULT_BACKOFF, type Backoff } from './pod-worker.ts';
import { PortForwarder, type PortForwardSession } from './portforward.ts';
import { NAMESPACE, PVC } from './resources.ts';
import { nowIso } from './shapes.ts';
import { ObjectStore } from './store.ts';
import { makeServerTls } from './tls.ts';
import { StateLayout } from './volumes.ts';
import { WatchHub } from './watch-stream.ts';

/**
 * startFakeKube(): the fake API server, its controllers and its kubelet, on
 * 127.0.0.1 and a free port, with a kubeconfig for it. A test double of a
 * one-node cluster for skiff's Kubernetes target, not a Kubernetes: see
 * README.md for what it implements and what it does not.
 */

export interface FakeKubeOptions {
  /** State directory (certificates, kubeconfig, volumes); default a new temporary directory, removed by stop(). */
  dir?: string;
  /** What runs for each container, asked in order; default [skiffAgentLauncher()]. */
  launchers?: ContainerLauncher[];
  /** The kubelet's back-off (CrashLoopBackOff, ImagePullBackOff); default DEFAULT_BACKOFF. */
  backoff?: Partial<Backoff>;
  /** The kubeconfig context's namespace; default "default". */
  namespace?: string;
  /** Every line a container prints. */
  onOutput?(pod: string, container: string, stream: 'stdout' | 'stderr', line: string): void;
}

/** Namespaces a new cluster has. */
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export interface FakeKube {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  /** The bearer token the server accepts (in the kubeconfig). */
  readonly token: string;
  readonly kubeconfig: Record<string, unknown>;
  readonly kubeconfigPath: string;
  readonly caPem: string;
  readonly dir: string;
  /** Every request the server received, in order. */
  readonly requests: readonly LoggedRequest[];

  /** Makes an image unpullable (ErrImagePull, ImagePullBackOff), or pullable again (missing=false). */
  setImageMissing(image: string, missing?: boolean, error?: string): void;
  /** Makes every container of this name crash-loop, or stop crashing (crashing=false). */
  setCrashing(container: string, crashing?: boolean): void;
  /** Kills a container's process (default SIGKILL); the kubelet restarts it. False when it was not running. */
  killContainer(namespace: string, pod: string, container: string, signal?: NodeJS.Signals): boolean;
  /** Holds claims Pending (one by name, or every new claim), or lets them bind (pending=false). */
  setClaimsPending(pending: boolean, name?: string): void;
  /** The directory of this machine that holds a claim's volume (undefined when no such claim exists). */
  claimDirectory(namespace: string, claim: string): string | undefined;
  /** The running process of a container, if any. */
  containerProcess(namespace: string, pod: string, container: string): ContainerProcess | undefined;

  /** Sends open watches (of one resource plural, or all) an ERROR 410 Expired and ends them; returns how many. */
  expireWatches(plural?: string): number;
  /** Ends open watches cleanly, as the server's watch timeout does; returns how many. */
  closeWatches(plural?: string): number;
  /** Forgets the change history: a watch from any earlier resourceVersion gets ERROR 410 Expired. */
  compactHistory(): void;
  /** Sends a BOOKMARK at the current resourceVersion to watches that allow bookmarks. */
  sendBookmarks(): void;
  /** Open watches (of one resource plural, or all). */
  openWatches(plural?: string): number;
  /** The current resourceVersion of the store. */
  resourceVersion(): string;

  /** Answers the next matching request(s) with an error Status. */
  injectFault(rule: FaultRule): void;
  clearFaults(): void;

  portForwards(): PortForwardSession[];
  /** Calls `listener` for each new port-forward session; returns the unsubscribe. */
  onPortForward(listener: (s: PortForwardSession) => void): () => void;

  /** Stops everything: port-forwards, watches, the server, every container; removes the state directory if it made it. */
  stop(): Promise<void>;
}

export async function startFakeKube(opts: FakeKubeOptions = {}): Promise<FakeKube> {
  const madeDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'skiff-fake-kube-')));
  await mkdir(join(dir, 'tls'), { recursive: true });
  const tls = await makeServerTls(join(dir, 'tls'));
  const token = randomBytes(32).toString('hex');

  const store = new ObjectStore();
  for (const name of INITIAL_NAMESPACES) {
    store.create(NAMESPACE, prepareCreate(NAMESPACE, applyDefaults({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }), nowIso()));
  }
  const layout = new StateLayout(join(dir, 'state'));
  const events = new EventRecorder(store);
  const deleter = new Deleter(store);
  const writer = new Writer(store, deleter);
  const hub = new WatchHub();
  const faults = new Faults();
  const deployments = new DeploymentController(store, events, deleter);
  const claims = new ClaimController(store, events, layout);
  const kubelet = new Kubelet({
    store,
    events,
    deleter,
    layout,
    launchers: opts.launchers ?? [skiffAgentLauncher()],
    backoff: { ...DEFAULT_BACKOFF, ...opts.backoff },
    ...(opts.onOutput ? { onOutput: opts.onOutput } : {}),
  });
  const forwarder = new PortForwarder(store, kubelet);

  let address = '127.0.0.1:0';
  const server: Server = createApiServer({
    tls,
    token,
    store,
    writer,
    hub,
    faults,
    onPortForward: (req, socket, head, target) => forwarder.upgrade(req, socket, head, target),
    address: () => address,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `https://${address}`;
  const kubeconfig = kubeconfigObject({ server: url, caPem: tls.caPem, token, namespace: opts.namespace ?? 'default' });
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  await writeKubeconfig(kubeconfigPath, kubeconfig);

  let stopping: Promise<void> | undefined;
  return {
    url,
    token,
    kubeconfig,
    kubeconfigPath,
    caPem: tls.caPem,
    dir,
    requests: faults.log,
    setImageMissing: (image, missing = true, error) => kubelet.setImageMissing(image, missing, error),
    setCrashing: (container, crashing = true) => kubelet.setCrashing(container, crashing),
    killContainer: (namespace, pod, container, signal) => kubelet.worker(namespace, pod)?.kill(container, signal) ?? false,
    setClaimsPending: (pending, name) => claims.setPending(pending, name),
    claimDirectory: (namespace, claim) => {
      const pvc = store.get(PVC, namespace, claim);
      return pvc === undefined ? undefined : layout.claimDir(pvc.metadata.uid!);
    },
    containerProcess: (namespace, pod, container) => kubelet.worker(namespace, pod)?.processOf(container),
    expireWatches: (plural) => hub.expire(plural, store.currentRevision()),
    closeWatches: (plural) => hub.close(plural),
    compactHistory: () => store.compact(),
    sendBookmarks: () => hub.bookmark(store.currentRevision()),
    openWatches: (plural) => hub.count(plural),
    resourceVersion: () => String(store.currentRevision()),
    injectFault: (rule) => faults.arm(rule),
    clearFaults: () => faults.clear(),
    portForwards: () => forwarder.open(),
    onPortForward: (listener) => forwarder.onSession(listener),
    stop() {
      stopping ??= (async () => {
        forwarder.closeAll();
        hub.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        deployments.stop();
        claims.stop();
        await kubelet.stop();
        if (madeDir) await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
