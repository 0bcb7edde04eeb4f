import { AGENT_NODE_OPTIONS, bundleCommand, type BundleManifest } from '@skiff/agent/bundle-manifest';
import { ErrorCode, SkiffError } from '@skiff/protocol';

/**
 * What the container targets deploy, the same for Docker and Kubernetes (odo's
 * pod: init steps copy the agent in and seed the source, then the app
 * container runs the agent as PID 1). Pure: names and argument lists only.
 *
 *   copy-agent            the agent image copies its bundle into the agent
 *                         volume (its default command) and exits
 *   copy-files-to-volume  the first time, the source volume is seeded with
 *                         what the app image holds at `workdir`
 *   app container         the user's image; entrypoint = the agent, through
 *                         the bundle's loader, from the agent volume mounted
 *                         read-only at AGENT_MOUNT; the source volume at
 *                         `workdir`; the token in a file only the agent reads
 */

/** Where the agent volume is mounted in the app container. */
export const AGENT_MOUNT = '/opt/skiff-agent';
/** Where the agent image's copy-agent step writes the bundle (Dockerfile.agent's CMD). */
export const COPY_AGENT_TARGET = '/mnt/skiff-agent';
/** The agent's port inside the app container. */
export const AGENT_PORT = 7070;
/** The token file inside the app container, in a directory of its own. */
export const TOKEN_DIR = '/.skiff-run';
export const TOKEN_FILE = `${TOKEN_DIR}/token`;
/**
 * The token file's mode: readable by the image's USER whoever that is. The
 * token keeps the agent's port from anyone outside the container; inside it
 * the app runs as the agent's user and could read the agent's memory anyway.
 */
export const TOKEN_FILE_MODE = 0o444;
/** Set in the app container so an app that reads HOST listens where a published or forwarded port reaches it. */
export const HOST_ENV = 'HOST';

/** The agent's command line in the app container: its loader, the node and the agent, from the agent volume. */
export function agentEntrypoint(manifest: BundleManifest, opts: { workdir: string; host: string; port?: number }): string[] {
  return bundleCommand(manifest, AGENT_MOUNT, ['--root', opts.workdir, '--host', opts.host, '--port', String(opts.port ?? AGENT_PORT), '--token-file', TOKEN_FILE], AGENT_NODE_OPTIONS);
}

/** Where the copy-files-to-volume step sees the source volume (the image's own workdir stays visible beside it). */
export const SEED_TARGET = '/mnt/skiff-src';

/** Container paths skiff mounts for itself: a workdir at or under one of them (or `/`) would collide. */
export const RESERVED_CONTAINER_PATHS: readonly string[] = [AGENT_MOUNT, COPY_AGENT_TARGET, TOKEN_DIR, SEED_TARGET];

/** Why `workdir` cannot be the source's mount point in a container, or null when it can. Pure. */
export function workdirProblem(workdir: string): string | null {
  const norm = workdir.replace(/\/+$/, '') || '/';
  if (norm === '/') return 'it would hide the whole image';
  const clash = RESERVED_CONTAINER_PATHS.find((p) => norm === p || norm.startsWith(`${p}/`) || p.startsWith(`${norm}/`));
  return clash === undefined ? null : `it overlaps ${clash}, which skiff mounts for its agent`;
}

/** The app container's part of the shape, as both container targets deploy it. Pure. */
export interface AppContainerShape {
  /** The agent as PID 1, from the agent volume. */
  command: string[];
  workdir: string;
  env: Record<string, string>;
  /** Mount points: the agent volume (read-only), the source volume, and where the token file is. */
  agentMount: string;
  sourceMount: string;
  tokenFile: string;
  /** Container ports of the app, then the agent's. */
  appPorts: number[];
  agentPort: number;
}

/**
 * `agentHost`: where the agent listens inside the container — all
 * interfaces for Docker (a published port reaches the container's address),
 * loopback for Kubernetes (a port-forward reaches the pod's loopback).
 */
export function appContainerShape(manifest: BundleManifest, opts: { workdir: string; appPorts: number[]; agentHost: string }): AppContainerShape {
  return {
    command: agentEntrypoint(manifest, { workdir: opts.workdir, host: opts.agentHost }),
    workdir: opts.workdir,
    env: { [HOST_ENV]: '0.0.0.0' },
    agentMount: AGENT_MOUNT,
    sourceMount: opts.workdir,
    tokenFile: TOKEN_FILE,
    appPorts: opts.appPorts,
    agentPort: AGENT_PORT,
  };
}

/** The copy-files-to-volume step's command: the bundle seeds the volume from the image's workdir. */
export function seedCommand(manifest: BundleManifest, workdir: string): string[] {
  return bundleCommand(manifest, AGENT_MOUNT, ['seed', workdir, SEED_TARGET]);
}

/** The container targets' check of skiff.yaml's ports: the agent's port is taken inside the container. */
export function assertAppPortsFree(ports: readonly { container: number }[], target: string): void {
  if (ports.some((p) => p.container === AGENT_PORT)) {
    throw new SkiffError(ErrorCode.CONFIG, `skiff.yaml: container port ${AGENT_PORT} is the agent's inside the container on the ${target} target; have the app listen on another port`);
  }
}
