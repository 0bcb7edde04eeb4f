import type { AppSpec } from '@skiff/protocol';
import type { ProjectConfig } from '../config/project.ts';
import type { ControlLog } from '../control/log.ts';

/**
 * The seam between syncing and where the agent runs. The session and the
 * one-shot push know only this; each target (local process, Docker
 * container, Kubernetes pod) implements it in its own file, and
 * openTarget() (targets/open.ts) picks the driver.
 */
export interface AgentPlace {
  /** Websocket URL of the agent, reachable from this machine. */
  url: string;
  /** The agent's bearer token. */
  token: string;
  /** The agent's root as the agent names it (a directory here, the workdir in a container). */
  root: string;
  /** Where the agent runs, in a few words, for `skiff status` (e.g. "process 4242", "container skiff-app-1a2b"). */
  description: string;
  /** The app's URLs as a browser on this machine reaches them. */
  appUrls: string[];
  /** The agent's pid on this machine, when it runs here. */
  pid?: number;
  /** Settles when the agent goes away (it exited, the container stopped, the pod went). Never rejects. */
  gone: Promise<AgentGone>;
  /**
   * The app is being stopped (a restart): connections this target relays to
   * the app's ports are dropped now. Through a port-forward, a kept-alive
   * browser connection to the old app would otherwise hang until the API
   * server notices the close, about a second later.
   */
  appStopping?(): void;
}

export interface AgentGone {
  /** What happened, for a log line and the agent.state event. */
  reason: string;
}

export interface TargetDriver {
  /** The target's name, as `--target` and skiff.yaml spell it. */
  readonly kind: string;
  /**
   * Whether the agent's place keeps running without this process: a
   * container or a pod does (a one-shot push leaves the app running there,
   * as `odo push` did); the local target's agent is this process's child.
   */
  readonly detached: boolean;
  /**
   * Starts the place where the agent runs, or reuses the one that runs, and
   * resolves once the agent listens. Bounded by the driver's own start timeout.
   */
  start(): Promise<AgentPlace>;
  /** Stops the agent and its app; keeps what the target made (root, volumes), so a later start resumes. */
  stop(): Promise<void>;
  /**
   * Lets go of what this process holds for the target (watches, port-forwards,
   * connections) and leaves the agent running: a one-shot push into a
   * detached target ends with this.
   */
  release(): Promise<void>;
  /** Stops, then removes everything the target made for the project; resolves to one line per thing removed. */
  delete(): Promise<string[]>;
}

export interface TargetContext {
  /** Absolute project root. */
  projectRoot: string;
  config: ProjectConfig;
  /** The app spec the agent starts with (it is sent again over the wire at every connect). */
  appSpec: AppSpec;
  /** The local target's agent root (`--local-root`); other targets refuse it. */
  localRoot?: string;
  /** The Kubernetes target's kubeconfig context and namespace (`--context`, `--namespace`), before skiff.yaml's. */
  kubeContext?: string;
  namespace?: string;
  log?: ControlLog;
}
