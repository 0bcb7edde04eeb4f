import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { AGENT_NODE_OPTIONS, bundleCommand, readBundleManifest } from '@skiff/agent';
import { demux, docker, runLabels } from './docker-engine.ts';
import { BUNDLE_DIR } from './docker-images.ts';
import { Waiters } from './waiters.ts';

/**
 * The self-contained agent as PID 1 of a container started from an app image
 * that knows nothing of it, the way the Docker target runs it: the bundle
 * mounted read-only, the agent launched in exec form through the bundle's
 * own loader (no shell of the image), its token in a file on a private
 * read-only mount (never in the container's Env or command line), its port
 * published on 127.0.0.1 only.
 */
export const AGENT_MOUNT = '/opt/skiff-agent';
/** The agent's port inside the container; the host side is any free port on 127.0.0.1. */
export const AGENT_PORT = 7070;
export const AGENT_ROOT = '/tmp/src';
export const SECRET_MOUNT = '/run/skiff-secret';
export const TOKEN_FILE = `${SECRET_MOUNT}/token`;

/** Deadline for anything a test waits for in a container. */
export const CONTAINER_WAIT_MS = 30_000;
/** How often `until` re-checks what prints nothing (process states). */
const POLL_MS = 25;

/** Where the container gets the bundle: this machine's build (bind mount) or a volume filled by copy-agent. */
export type BundleSource = { hostDir: string } | { volume: string };

export interface Listening {
  event: 'listening';
  host: string;
  port: number;
  root: string;
  pid: number;
}

export class AgentContainer {
  /** Every line of output, stdout as it is, stderr prefixed with "[stderr] ". */
  readonly lines: string[] = [];
  private readonly waiters = new Waiters(() => `output:\n${this.lines.join('\n')}`);
  exited: Promise<{ StatusCode: number }> | null = null;
  /** ms from `docker start` to the listening line. */
  startMs = -1;

  private constructor(
    readonly container: Docker.Container,
    readonly token: string,
    /** The exec-form command the container runs (its Entrypoint). */
    readonly command: string[],
  ) {}

  static async create(options: { image: string; bundle: BundleSource; workDir: string }): Promise<AgentContainer> {
    const manifest = await readBundleManifest(BUNDLE_DIR);
    const token = randomBytes(32).toString('hex');
    // The private mount: a directory only root can enter, holding the token alone.
    const secretDir = await mkdtemp(join(options.workDir, 'secret-'));
    await chmod(secretDir, 0o700);
    await writeFile(join(secretDir, 'token'), `${token}\n`, { mode: 0o600 });
    const command = bundleCommand(manifest, AGENT_MOUNT, ['--root', AGENT_ROOT, '--host', '0.0.0.0', '--port', String(AGENT_PORT), '--token-file', TOKEN_FILE], AGENT_NODE_OPTIONS);
    const bundleMount: Docker.MountSettings =
      'hostDir' in options.bundle
        ? { Type: 'bind', Source: options.bundle.hostDir, Target: AGENT_MOUNT, ReadOnly: true }
        : { Type: 'volume', Source: options.bundle.volume, Target: AGENT_MOUNT, ReadOnly: true };
    const port = `${AGENT_PORT}/tcp`;
    const container = await docker.createContainer({
      Image: options.image,
      // The image's CMD is dropped with an Entrypoint of our own: nothing of the image runs before the agent.
      Entrypoint: command,
      Labels: runLabels(),
      ExposedPorts: { [port]: {} },
      HostConfig: {
        PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
        Mounts: [bundleMount, { Type: 'bind', Source: secretDir, Target: SECRET_MOUNT, ReadOnly: true }],
      },
    });
    return new AgentContainer(container, token, command);
  }

  /** Starts the container (attached first, so no line is missed) and waits for the listening line. */
  async start(): Promise<Listening> {
    const stream = await this.container.attach({ stream: true, stdout: true, stderr: true });
    const { stdout, stderr } = demux(stream);
    this.collect(stdout, '');
    this.collect(stderr, '[stderr] ');
    const started = performance.now();
    await this.container.start();
    this.exited = this.container.wait() as Promise<{ StatusCode: number }>;
    const listening = await this.until('the listening line', () => this.listening());
    this.startMs = performance.now() - started;
    return listening;
  }

  private collect(stream: NodeJS.ReadableStream, prefix: string): void {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) this.lines.push(`${prefix}${line}`);
      this.waiters.poke();
    });
  }

  listening(): Listening | undefined {
    for (const line of this.lines) {
      if (!line.startsWith('{')) continue;
      try {
        const parsed = JSON.parse(line) as Listening;
        if (parsed.event === 'listening') return parsed;
      } catch {
        // an app line that happens to start with {
      }
    }
    return undefined;
  }

  /**
   * Resolves with the predicate's first truthy value, checked on every line
   * of output and every POLL_MS (for what prints nothing: /proc states).
   */
  until<T>(what: string, predicate: () => T | undefined | null | false, ms = CONTAINER_WAIT_MS): Promise<T> {
    return this.waiters.until(what, predicate, ms, POLL_MS);
  }

  /** Resolves with the first output line that matches. */
  line(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.until(`a line matching ${pattern}`, () => {
      for (const line of this.lines) {
        const match = pattern.exec(line);
        if (match) return match;
      }
      return undefined;
    });
  }

  async inspect(): Promise<Docker.ContainerInspectInfo> {
    return this.container.inspect();
  }

  /** The agent's pid on the host (PID 1 inside). */
  async hostPid(): Promise<number> {
    return (await this.inspect()).State.Pid;
  }

  /** The websocket URL of the agent through its port published on 127.0.0.1. */
  async url(): Promise<string> {
    const bindings = (await this.inspect()).NetworkSettings.Ports[`${AGENT_PORT}/tcp`];
    const binding = bindings?.find((b) => b.HostIp === '127.0.0.1');
    if (!binding) throw new Error(`port ${AGENT_PORT} is not published on 127.0.0.1: ${JSON.stringify(bindings)}`);
    return `ws://127.0.0.1:${binding.HostPort}`;
  }
}
