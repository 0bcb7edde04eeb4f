import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { ContainerConfigError, expandContainer, resolveEnv } from './container-env.ts';
import { ContainerProcess } from './container-process.ts';
import type { Deleter } from './deletion.ts';
import { Component, type EventRecorder } from './event-recorder.ts';
import { PlanKind, planFor, type ContainerContext, type ContainerLauncher, type ContainerPlan } from './launcher.ts';
import { buildPodStatus, type ContainerModel, type PodModel } from './pod-status.ts';
import { POD, SECRET } from './resources.ts';
import { clone, jsonEqual, nowIso, type Container, type KubeObject, type PodSpec } from './shapes.ts';
import type { ObjectStore } from './store.ts';
import { hostPathIn, mountsFor, preparePodVolumes, unboundClaims, VolumeNotReady, type StateLayout } from './volumes.ts';
import { ContainerReason, EventReason, EventType, NODE_NAME } from './vocabulary.ts';
import { aborted, untilAborted, Wakeup } from './wakeup.ts';

/**
 * One pod on the fake node, from scheduling to termination, told as one
 * story (run()): wait for its claims to be bound (else FailedScheduling),
 * bind to the node, make its volumes, run the init containers one after
 * the other to completion, then keep every app container running. Each
 * container start pulls its image (a missing image: ErrImagePull, then
 * ImagePullBackOff, with the kubelet's Warning events, retried on back-off),
 * resolves its environment (a missing secret: CreateContainerConfigError),
 * asks the launchers what to run, and restarts it when it exits
 * (CrashLoopBackOff between restarts, per restartPolicy). Every change of
 * state is written to the pod's status in the store.
 */

export interface Backoff {
  /** First back-off (a real kubelet's is 10 s; the double's is short so that tests do not wait). */
  initialMs: number;
  /** Back-off cap (a real kubelet's is 5 min). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 200, maxMs: 2_000 };
/** A container that ran this long before exiting starts its back-off over (the kubelet's is 10 min). */
export const BACKOFF_RESET_MS = 10_000;

export interface ImageState {
  /** The pull error of a missing image, or undefined when the image can be pulled. */
  pullError(image: string): string | undefined;
}

export interface WorkerDeps {
  store: ObjectStore;
  events: EventRecorder;
  deleter: Deleter;
  layout: StateLayout;
  launchers: readonly ContainerLauncher[];
  images: ImageState;
  isCrashing(container: string): boolean;
  backoff: Backoff;
  wakeup: Wakeup;
  podIp(): string;
  onOutput?(pod: string, container: string, stream: 'stdout' | 'stderr', line: string): void;
}

interface Slot {
  spec: Container;
  model: ContainerModel;
  process?: ContainerProcess;
  plan?: ContainerPlan;
}

function backoffMs(b: Backoff, failures: number): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, failures - 1));
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** A container's exit code as the runtime reports it: 128 + the signal number for a killed process. */
function exitCodeOf(e: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (e.code !== null) return e.code;
  return 128 + (SIGNAL_NUMBERS[e.signal ?? ''] ?? 9);
}

export class PodWorker {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  private readonly controller = new AbortController();
  private readonly model: PodModel;
  private readonly slots = new Map<string, Slot>();
  private readonly spec: PodSpec;
  private running: Promise<void> = Promise.resolve();
  private terminating: Promise<void> | undefined;
  private pulled = new Set<string>();

  constructor(
    private readonly deps: WorkerDeps,
    pod: KubeObject,
  ) {
    this.uid = pod.metadata.uid!;
    this.namespace = pod.metadata.namespace!;
    this.name = pod.metadata.name!;
    this.spec = clone(pod.spec as PodSpec);
    const slot = (c: Container, init: boolean): Slot => ({
      spec: c,
      model: {
        name: c.name,
        image: c.image ?? '',
        init,
        state: { waiting: { reason: init ? ContainerReason.PodInitializing : ContainerReason.ContainerCreating } },
        lastState: {},
        restartCount: 0,
        ready: false,
        started: false,
      },
    });
    for (const c of this.spec.initContainers ?? []) this.slots.set(c.name, slot(c, true));
    for (const c of this.spec.containers) this.slots.set(c.name, slot(c, false));
    this.model = {
      scheduled: { ok: false, message: '' },
      sandboxReady: false,
      initContainers: (this.spec.initContainers ?? []).map((c) => this.slots.get(c.name)!.model),
      containers: this.spec.containers.map((c) => this.slots.get(c.name)!.model),
    };
  }

  start(): void {
    this.running = this.run().catch((err: unknown) => {
      if (!this.controller.signal.aborted) console.error(`fake-kube: pod ${this.namespace}/${this.name} failed in the double:`, err);
    });
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  private pod(): KubeObject | undefined {
    const pod = this.deps.store.get(POD, this.namespace, this.name);
    return pod?.metadata.uid === this.uid ? pod : undefined;
  }

  private event(type: EventType, reason: EventReason, message: string, component: Component = Component.Kubelet, fieldPath?: string): void {
    const pod = this.pod();
    if (pod !== undefined) this.deps.events.record(pod, { type, reason, message, component, ...(fieldPath ? { fieldPath } : {}) });
  }

  /** Writes the model to the pod's status, when it changed. */
  private publish(): void {
    const pod = this.pod();
    if (pod === undefined) return;
    const status = buildPodStatus(this.model, pod.status);
    if (jsonEqual(status, pod.status)) return;
    pod.status = status;
    this.deps.store.update(POD, pod);
  }

  private async run(): Promise<void> {
    await this.schedule();
    if (this.signal.aborted) return;
    const dirs = await this.volumes();
    if (this.signal.aborted || dirs === undefined) return;
    for (const c of this.spec.initContainers ?? []) {
      await this.runInit(this.slots.get(c.name)!, dirs);
      if (this.signal.aborted) return;
    }
    this.publish();
    await Promise.all(this.spec.containers.map((c) => this.keepRunning(this.slots.get(c.name)!, dirs)));
  }

  /** The scheduler's part: wait until every claim is bound, then bind the pod to the node. */
  private async schedule(): Promise<void> {
    for (;;) {
      const pod = this.pod();
      if (pod === undefined || this.signal.aborted) return;
      const { missing, pending } = unboundClaims(pod, this.deps.store);
      if (missing.length === 0 && pending.length === 0) break;
      const why = missing.length > 0 ? `persistentvolumeclaim "${missing[0]}" not found` : 'pod has unbound immediate PersistentVolumeClaims';
      const message = `0/1 nodes are available: ${why}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.`;
      this.model.scheduled = { ok: false, message };
      this.publish();
      this.event(EventType.Warning, EventReason.FailedScheduling, message, Component.Scheduler);
      await this.deps.wakeup.wait(this.deps.backoff.maxMs, this.signal);
    }
    const pod = this.pod()!;
    (pod.spec as PodSpec).nodeName = NODE_NAME;
    this.deps.store.update(POD, pod);
    this.event(EventType.Normal, EventReason.Scheduled, `Successfully assigned ${this.namespace}/${this.name} to ${NODE_NAME}`, Component.Scheduler);
    this.model.scheduled = { ok: true };
    this.model.hostIP = '127.0.0.1';
    this.model.podIP = this.deps.podIp();
    this.model.startTime = nowIso();
    this.publish();
  }

  private async volumes(): Promise<Map<string, string> | undefined> {
    for (let failures = 1; !this.signal.aborted; failures++) {
      const pod = this.pod();
      if (pod === undefined) return undefined;
      try {
        const dirs = await preparePodVolumes(pod, this.deps.store, this.deps.layout);
        this.model.sandboxReady = true;
        this.publish();
        return dirs;
      } catch (err) {
        if (!(err instanceof VolumeNotReady)) throw err;
        this.event(EventType.Warning, EventReason.FailedMount, err.message);
        await this.deps.wakeup.wait(backoffMs(this.deps.backoff, failures), this.signal);
      }
    }
    return undefined;
  }

  private fieldPath(s: Slot): string {
    return `spec.${s.model.init ? 'initContainers' : 'containers'}{${s.model.name}}`;
  }

  /** Pulls the container's image, retrying on back-off while it is missing; false when aborted. */
  private async pull(s: Slot): Promise<boolean> {
    const image = s.model.image;
    const fp = this.fieldPath(s);
    for (let failures = 1; !this.signal.aborted; failures++) {
      const error = this.deps.images.pullError(image);
      if (error === undefined) {
        if (this.pulled.has(image) || (s.spec as { imagePullPolicy?: string }).imagePullPolicy === 'IfNotPresent') {
          this.event(EventType.Normal, EventReason.Pulled, `Container image "${image}" already present on machine`, Component.Kubelet, fp);
        } else {
          this.event(EventType.Normal, EventReason.Pulling, `Pulling image "${image}"`, Component.Kubelet, fp);
          this.event(EventType.Normal, EventReason.Pulled, `Successfully pulled image "${image}" in 1ms (1ms including waiting). Image size: 0 bytes.`, Component.Kubelet, fp);
        }
        this.pulled.add(image);
        s.model.imageID = `${image.includes('/') ? image : `docker.io/library/${image}`}@sha256:${'0'.repeat(64)}`;
        return true;
      }
      this.event(EventType.Normal, EventReason.Pulling, `Pulling image "${image}"`, Component.Kubelet, fp);
      this.event(EventType.Warning, EventReason.Failed, `Failed to pull image "${image}": ${error}`, Component.Kubelet, fp);
      this.event(EventType.Warning, EventReason.Failed, `Error: ${ContainerReason.ErrImagePull}`, Component.Kubelet, fp);
      s.model.state = { waiting: { reason: ContainerReason.ErrImagePull, message: error } };
      this.publish();
      await this.deps.wakeup.wait(backoffMs(this.deps.backoff, failures), this.signal);
      if (this.signal.aborted || this.deps.images.pullError(image) === undefined) continue;
      s.model.state = { waiting: { reason: ContainerReason.ImagePullBackOff, message: `Back-off pulling image "${image}"` } };
      this.event(EventType.Normal, EventReason.BackOff, `Back-off pulling image "${image}"`, Component.Kubelet, fp);
      this.event(EventType.Warning, EventReason.Failed, `Error: ${ContainerReason.ImagePullBackOff}`, Component.Kubelet, fp);
      this.publish();
      await this.deps.wakeup.wait(backoffMs(this.deps.backoff, failures), this.signal);
    }
    return false;
  }

  /** Starts the container once: the plan's process (or exit, or idle). Undefined when aborted or its config is wrong. */
  private async startOnce(s: Slot, dirs: ReadonlyMap<string, string>): Promise<boolean> {
    const pod = this.pod();
    if (pod === undefined || this.signal.aborted) return false;
    let env: Record<string, string>;
    try {
      env = resolveEnv(pod, s.spec, (ns, name) => this.deps.store.get(SECRET, ns, name));
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      s.model.state = { waiting: { reason: ContainerReason.CreateContainerConfigError, message: err.message } };
      this.event(EventType.Warning, EventReason.Failed, `Error: ${err.message}`, Component.Kubelet, this.fieldPath(s));
      this.publish();
      return false;
    }
    const mounts = mountsFor(s.spec, dirs);
    const rootfs = this.deps.layout.rootfs(this.uid, s.model.name);
    await mkdir(rootfs, { recursive: true });
    const ctx: ContainerContext = {
      pod,
      container: expandContainer(s.spec, env),
      init: s.model.init,
      env,
      mounts,
      rootfs,
      hostPath: (p) => hostPathIn(mounts, rootfs, p),
    };
    const plan: ContainerPlan = this.deps.isCrashing(s.model.name)
      ? { kind: PlanKind.Exit, code: 1, message: 'fake-kube: this container is made to crash' }
      : await planFor(this.deps.launchers, ctx);
    if (this.signal.aborted) return false;
    s.plan = plan;
    s.model.containerID = `containerd://${randomBytes(32).toString('hex')}`;
    this.event(EventType.Normal, EventReason.Created, `Created container: ${s.model.name}`, Component.Kubelet, this.fieldPath(s));
    if (plan.kind === PlanKind.Process) {
      if (plan.cwd !== undefined) await mkdir(plan.cwd, { recursive: true });
      if (this.signal.aborted) return false;
      s.process = new ContainerProcess(plan, (stream, line) => this.deps.onOutput?.(this.name, s.model.name, stream, line));
      const proc = s.process;
      if (plan.listen !== undefined) {
        proc.listening().then(
          () => {
            if (s.process === proc && !s.model.init) {
              s.model.ready = true;
              this.publish();
            }
          },
          () => undefined,
        );
      }
    } else s.process = undefined;
    this.event(EventType.Normal, EventReason.Started, `Started container ${s.model.name}`, Component.Kubelet, this.fieldPath(s));
    s.model.state = { running: { startedAt: nowIso() } };
    s.model.started = true;
    s.model.ready = !s.model.init && (plan.kind !== PlanKind.Process || plan.listen === undefined);
    this.publish();
    return true;
  }

  /** Waits for the container to exit; records the termination. Undefined when aborted first. */
  private async exitOf(s: Slot): Promise<number | undefined> {
    const plan = s.plan!;
    const startedAt = 'running' in s.model.state ? s.model.state.running.startedAt : nowIso();
    let code: number;
    let message: string | undefined;
    if (plan.kind === PlanKind.Exit) {
      code = plan.code;
      message = plan.message;
    } else if (plan.kind === PlanKind.Idle) {
      await aborted(this.signal);
      return undefined;
    } else {
      const exit = await untilAborted(s.process!.exited, this.signal);
      if (exit === undefined) return undefined;
      code = exitCodeOf(exit);
    }
    s.model.state = {
      terminated: { exitCode: code, reason: code === 0 ? ContainerReason.Completed : ContainerReason.Error, ...(message ? { message } : {}), startedAt, finishedAt: nowIso(), containerID: s.model.containerID },
    };
    s.model.ready = false;
    s.model.started = false;
    s.process = undefined;
    this.publish();
    return code;
  }

  private async runInit(s: Slot, dirs: ReadonlyMap<string, string>): Promise<void> {
    for (let failures = 1; !this.signal.aborted; ) {
      if (!(await this.pull(s))) return;
      if (!(await this.startOnce(s, dirs))) {
        await this.deps.wakeup.wait(backoffMs(this.deps.backoff, failures++), this.signal);
        continue;
      }
      const code = await this.exitOf(s);
      if (code === undefined || code === 0) return;
      failures = await this.crashBackOff(s, failures);
    }
  }

  private async keepRunning(s: Slot, dirs: ReadonlyMap<string, string>): Promise<void> {
    const policy = this.spec.restartPolicy ?? 'Always';
    for (let failures = 1; !this.signal.aborted; ) {
      if (!(await this.pull(s))) return;
      if (!(await this.startOnce(s, dirs))) {
        await this.deps.wakeup.wait(backoffMs(this.deps.backoff, failures++), this.signal);
        continue;
      }
      const startedAt = Date.now();
      const code = await this.exitOf(s);
      if (code === undefined) return;
      if (policy === 'Never' || (policy === 'OnFailure' && code === 0)) return;
      if (Date.now() - startedAt > BACKOFF_RESET_MS) failures = 1;
      failures = await this.crashBackOff(s, failures);
    }
  }

  /** A container that exited and will restart: CrashLoopBackOff for the back-off, then another try. */
  private async crashBackOff(s: Slot, failures: number): Promise<number> {
    s.model.lastState = s.model.state;
    s.model.restartCount += 1;
    const ms = backoffMs(this.deps.backoff, failures);
    const what = `back-off ${Math.round(ms / 1000)}s restarting failed container=${s.model.name} pod=${this.name}_${this.namespace}(${this.uid})`;
    s.model.state = { waiting: { reason: ContainerReason.CrashLoopBackOff, message: what } };
    this.event(EventType.Warning, EventReason.BackOff, `Back-off restarting failed container ${s.model.name} in pod ${this.name}_${this.namespace}(${this.uid})`, Component.Kubelet, this.fieldPath(s));
    this.publish();
    await this.deps.wakeup.wait(ms, this.signal);
    return failures + 1;
  }

  /** Where a port-forward to `port` of this pod goes on this machine, or why it cannot. */
  portTarget(port: number): { port: number } | { error: string } {
    const refused = { error: `failed to connect to localhost:${port} inside namespace "${this.uid}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6 [::1]:${port}: connect: connection refused` };
    let anyRunning = false;
    for (const s of this.slots.values()) {
      if ('running' in s.model.state) anyRunning = true;
      if (s.plan?.kind === PlanKind.Process && s.plan.listen?.containerPort === port) {
        return s.process?.running && s.process.hostPort !== undefined ? { port: s.process.hostPort } : refused;
      }
    }
    // A port no container declared: the pod's loopback is this machine's.
    return anyRunning ? { port } : refused;
  }

  /** The process of a container, while it runs. */
  processOf(container: string): ContainerProcess | undefined {
    return this.slots.get(container)?.process;
  }

  /** Kills a container's process as a crash would; the kubelet restarts it per restartPolicy. */
  kill(container: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    const p = this.slots.get(container)?.process;
    if (p === undefined || !p.running) return false;
    p.kill(signal);
    return true;
  }

  /** Stops every container (SIGTERM, SIGKILL after `graceMs`), records it, then lets the pod go (when `finish`). */
  terminate(graceMs: number, finish: boolean): Promise<void> {
    this.terminating ??= (async () => {
      this.controller.abort();
      const stops: Promise<void>[] = [];
      for (const s of this.slots.values()) {
        if (!('running' in s.model.state)) continue;
        this.event(EventType.Normal, EventReason.Killing, `Stopping container ${s.model.name}`, Component.Kubelet, this.fieldPath(s));
        const startedAt = s.model.state.running.startedAt;
        const proc = s.process;
        stops.push(
          (async () => {
            const exit = proc !== undefined ? await proc.stop(graceMs) : { code: 0, signal: null };
            const code = exitCodeOf(exit);
            s.model.state = { terminated: { exitCode: code, reason: code === 0 ? ContainerReason.Completed : ContainerReason.Error, startedAt, finishedAt: nowIso(), containerID: s.model.containerID } };
            s.model.ready = false;
            s.model.started = false;
          })(),
        );
      }
      await Promise.all(stops);
      await this.running;
      // A start that was under way when the abort came: its process must not outlive the pod.
      await Promise.all([...this.slots.values()].map((s) => s.process?.stop(graceMs)));
      this.publish();
      if (finish) this.deps.deleter.finishPod(this.namespace, this.name, this.uid);
    })();
    return this.terminating;
  }
}
