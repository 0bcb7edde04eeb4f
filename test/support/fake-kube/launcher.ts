import type { Container, KubeObject } from './shapes.ts';

/**
 * How the fake kubelet turns a container of a pod into something that runs
 * on this machine. There are no images and no container runtime: a test (or
 * the default skiff agent launcher) says, for each container, what to run.
 *
 * The kubelet asks the launchers in order; the first that returns a plan
 * wins. A container no launcher claims gets the fallback: an init container
 * exits 0 at once (the double does not perform init steps it has no
 * launcher for), an app container idles (Running, no process, nothing to
 * forward to).
 */

/** A volume mount of the container, mapped to a directory of this machine. */
export interface MountedVolume {
  name: string;
  mountPath: string;
  hostPath: string;
  readOnly: boolean;
}

export interface ContainerContext {
  /** The pod as stored when the container starts. */
  pod: KubeObject;
  /** The container's spec, with `$(VAR)` references in command and args expanded as the kubelet expands them. */
  container: Container;
  init: boolean;
  /** The container's environment as the kubelet resolves it: value, secretKeyRef, fieldRef, envFrom secretRef. */
  env: Record<string, string>;
  mounts: MountedVolume[];
  /** The container's private directory for paths outside every mount (its image filesystem, empty). */
  rootfs: string;
  /** Where a path inside the container lives on this machine: under the longest mount that holds it, else under rootfs. */
  hostPath(containerPath: string): string;
}

/** How the kubelet learns the port a process really listens on, for a port the pod declares. */
export interface ListenSpec {
  /** The port inside the pod (what a port-forward asks for). */
  containerPort: number;
  /** Reads one line of the process's stdout; returns the port it listens on (127.0.0.1), once it says. */
  hostPortFromStdout(line: string): number | undefined;
}

export const PlanKind = {
  Process: 'process',
  Exit: 'exit',
  Idle: 'idle',
} as const;

export type ContainerPlan =
  | { kind: typeof PlanKind.Process; command: string; args: string[]; env: Record<string, string>; cwd?: string; listen?: ListenSpec }
  /** The container exits at once with this code (a crash, or an init step the double does not perform). */
  | { kind: typeof PlanKind.Exit; code: number; message?: string }
  /** The container runs and does nothing. */
  | { kind: typeof PlanKind.Idle };

/** Returns a plan for the containers it knows, undefined for the others. */
export type ContainerLauncher = (ctx: ContainerContext) => ContainerPlan | undefined | Promise<ContainerPlan | undefined>;

export function fallbackPlan(ctx: ContainerContext): ContainerPlan {
  return ctx.init ? { kind: PlanKind.Exit, code: 0 } : { kind: PlanKind.Idle };
}

export async function planFor(launchers: readonly ContainerLauncher[], ctx: ContainerContext): Promise<ContainerPlan> {
  for (const launch of launchers) {
    const plan = await launch(ctx);
    if (plan !== undefined) return plan;
  }
  return fallbackPlan(ctx);
}
