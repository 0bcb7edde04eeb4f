import type Docker from 'dockerode';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import { pushTimeoutFromEnv } from '../../config/duration.ts';
import { Target } from '../../config/project.ts';
import { findAgentBundle } from '../agent-bundle.ts';
import { waitForAgent } from '../agent-probe.ts';
import { instanceOf, LABEL_INSTANCE } from '../instance.ts';
import { newToken } from '../local.ts';
import { AGENT_PORT, TOKEN_DIR, TOKEN_FILE, assertAppPortsFree } from '../pod-shape.ts';
import type { AgentPlace, TargetContext, TargetDriver } from '../target.ts';
import { firstFileOf, tarOf, type TarDir } from './archive.ts';
import { ensureAgentImage, ensureAgentVolume, ensureAppImage, ensureSourceVolume, removeStaleAgentVolumes } from './images.ts';
import { engineUnavailable, messageOf, openBackgroundEngine, openEngine, pingEngine, statusOf } from './engine.ts';
import { appContainerSpec, dockerNames, LABEL_SPEC, PUBLISH_ADDRESS, type DockerNames } from './spec.ts';
import { containerOwner, ROOT_OWNER } from './user.ts';

/** Lines of the container's output quoted when its agent does not come up. */
const LOG_TAIL_LINES = 20;
const MS_PER_S = 1000;
/** How long `stop` gives the agent (and through it the app) before the engine kills it. */
export const DOCKER_STOP_SECONDS = 10;
/** Mode of the source volume's root when it is handed to a user other than root. */
const SOURCE_ROOT_MODE = 0o755;

/**
 * The Docker target: the agent is PID 1 of the app's own container (the
 * user's `image`), started from the agent volume that the copy-agent step
 * filled; the source lives in a volume at `workdir`, seeded from the image
 * the first time. Everything is labelled with the project's instance and
 * reused on the next run: a container whose create options are unchanged is
 * started again as it is, with its volumes, so a resume sends only
 * differences.
 *
 * The token is generated when the container is created and put into it as a
 * file (TOKEN_FILE) through the archive API before it starts: never in its
 * command line or environment. A later run reads it back the same way.
 */
export function dockerTarget(ctx: TargetContext): TargetDriver {
  if (ctx.localRoot !== undefined) throw new SkiffError(ErrorCode.USAGE, '--local-root is for the local target; the docker target keeps the source in a volume');
  if (!ctx.config.image) throw new SkiffError(ErrorCode.CONFIG, 'skiff.yaml: the docker target needs "image": the app\'s image, e.g. image: node:20-bookworm-slim');
  const image = ctx.config.image;
  assertAppPortsFree(ctx.config.ports, 'docker');
  const instance = instanceOf(ctx.projectRoot, ctx.config.name);
  let docker: Docker | null = null;
  let background: Docker | null = null;

  const engine = async (): Promise<Docker> => {
    docker ??= await openEngine();
    await pingEngine(docker);
    return docker;
  };

  return {
    kind: Target.DOCKER,
    detached: true,

    async start(): Promise<AgentPlace> {
      const d = await engine();
      const bundle = await findAgentBundle();
      const names = dockerNames(instance, bundle.manifest);
      await ensureAppImage(d, image);
      await ensureAgentImage(d, names.agentImage, bundle, instance.labels);
      await ensureAgentVolume(d, names, instance.labels);
      await ensureSourceVolume(d, names, instance.labels);
      const spec = appContainerSpec({ instance, names, bundle: bundle.manifest, image, workdir: ctx.config.workdir, ports: ctx.config.ports });
      const { container, token } = await ensureContainer(d, names, spec);
      await removeStaleAgentVolumes(d, instance, names.agentVolume);
      await startContainer(container);
      const info = await container.inspect();
      const hostPort = publishedPort(info, AGENT_PORT);
      if (hostPort === null) throw new SkiffError(ErrorCode.AGENT_START, `container ${names.container} publishes no port for the agent (${AGENT_PORT}/tcp)`);
      const deadline = Date.now() + pushTimeoutFromEnv(process.env).ms;
      await waitForAgent(`http://${PUBLISH_ADDRESS}:${hostPort}/`, {
        deadline,
        check: async () => {
          const state = (await container.inspect()).State;
          if (!state.Running) throw await exitedError(container, names.container, `exited (exit code ${state.ExitCode})`);
        },
        onTimeout: () => exitedError(container, names.container, 'is running, but its agent did not answer within the push timeout (SKIFF_PUSH_TIMEOUT)'),
      });
      // Through a client that does not hold this process: a one-shot push exits while the container runs on.
      background ??= await openBackgroundEngine();
      const gone = background.getContainer(info.Id).wait().then(
        (r: { StatusCode?: number }) => ({ reason: `container ${names.container} stopped (exit code ${r.StatusCode ?? '?'})` }),
        (err: unknown) => ({ reason: `container ${names.container} is gone: ${messageOf(err)}` }),
      );
      return {
        url: `ws://${PUBLISH_ADDRESS}:${hostPort}`,
        token,
        root: ctx.config.workdir,
        description: `container ${names.container} (${image}), agent as PID 1`,
        appUrls: ctx.config.ports.map((p) => {
          const port = publishedPort(info, p.container);
          return `http://${PUBLISH_ADDRESS}:${port ?? p.host ?? p.container}`;
        }),
        gone,
      };
    },

    async release() {
      // The container runs on; the wait on it goes through a client that does not hold this process.
    },

    async stop() {
      if (!docker) return;
      const container = docker.getContainer(instance.name);
      await container.stop({ t: DOCKER_STOP_SECONDS }).catch((err: unknown) => {
        // 304: not running; 404: never made. Both are stopped enough.
        if (statusOf(err) !== 304 && statusOf(err) !== 404) throw engineUnavailable(err);
      });
    },

    async delete() {
      const d = await engine();
      const removed: string[] = [];
      const filters = { label: [`${LABEL_INSTANCE}=${instance.name}`] };
      for (const c of await d.listContainers({ all: true, filters })) {
        await d.getContainer(c.Id).remove({ force: true, v: false });
        removed.push(`container ${c.Names[0]?.replace(/^\//, '') ?? c.Id}`);
      }
      const { Volumes } = await d.listVolumes({ filters });
      for (const v of Volumes ?? []) {
        await d.getVolume(v.Name).remove();
        removed.push(`volume ${v.Name}`);
      }
      return removed;
    },
  };
}

/** The container for `spec`: the existing one when it was made from the same options, else a new one with a new token. */
async function ensureContainer(d: Docker, names: DockerNames, spec: Record<string, unknown>): Promise<{ container: Docker.Container; token: string }> {
  const wanted = (spec.Labels as Record<string, string>)[LABEL_SPEC];
  const existing = d.getContainer(names.container);
  const info = await existing.inspect().catch((err: unknown) => {
    if (statusOf(err) === 404) return null;
    throw engineUnavailable(err);
  });
  if (info && info.Config.Labels?.[LABEL_SPEC] === wanted) {
    const token = await readToken(existing);
    if (token !== null) return { container: existing, token };
  }
  if (info) await existing.remove({ force: true });
  let container: Docker.Container;
  try {
    container = await d.createContainer(spec as Docker.ContainerCreateOptions);
  } catch (err) {
    throw new SkiffError(ErrorCode.AGENT_START, `cannot create container ${names.container}: ${messageOf(err)}`, { cause: err });
  }
  const token = newToken();
  // Owned by the user the image runs as (an image with USER node or nobody runs its agent as that user), and so is
  // the source volume's root, which the engine makes root's 0755 when the image has nothing at workdir: the agent
  // must be able to read its token and write its root.
  const owner = await containerOwner(container);
  const dirs: TarDir[] = [{ name: TOKEN_DIR.slice(1), mode: 0o700, ...owner }];
  if (owner.uid !== ROOT_OWNER.uid) dirs.push({ name: String(spec.WorkingDir).slice(1), mode: SOURCE_ROOT_MODE, ...owner });
  const archive = await tarOf([{ name: TOKEN_FILE.slice(1), mode: 0o400, content: Buffer.from(token), ...owner }], dirs);
  await container.putArchive(archive, { path: '/' });
  return { container, token };
}

async function readToken(container: Docker.Container): Promise<string | null> {
  try {
    const stream = await container.getArchive({ path: TOKEN_FILE });
    return (await firstFileOf(stream))?.toString('utf8').trim() || null;
  } catch {
    return null;
  }
}

async function startContainer(container: Docker.Container): Promise<void> {
  try {
    await container.start();
  } catch (err) {
    if (statusOf(err) === 304) return; // already running
    const message = messageOf(err);
    if (/port is already allocated|address already in use/i.test(message)) {
      throw new SkiffError(ErrorCode.PORT_IN_USE, `a port the app publishes is taken on this machine: ${message}; free it, or map another host port in skiff.yaml, e.g. ports: ["18080:8080"]`, { cause: err });
    }
    throw new SkiffError(ErrorCode.AGENT_START, `cannot start container: ${message}`, { cause: err });
  }
}

/** The host port published for `containerPort`/tcp, from an inspect. */
function publishedPort(info: Docker.ContainerInspectInfo, containerPort: number): number | null {
  const bindings = info.NetworkSettings.Ports?.[`${containerPort}/tcp`];
  const port = bindings?.find((b) => b.HostPort)?.HostPort;
  return port ? Number(port) : null;
}

/** An AGENT_START error with the container's state and the last lines it printed. */
async function exitedError(container: Docker.Container, name: string, what: string): Promise<SkiffError> {
  let tail = '';
  try {
    // This run's lines only: a reused container keeps the output of its earlier runs, which would read as this one's.
    const since = Date.parse((await container.inspect()).State.StartedAt) / MS_PER_S;
    const logs = (await container.logs({ stdout: true, stderr: true, tail: LOG_TAIL_LINES, since, follow: false })) as unknown as Buffer;
    tail = demux(logs).trim();
  } catch {
    // The logs are a courtesy; the state alone still says what happened.
  }
  return new SkiffError(ErrorCode.AGENT_START, `container ${name} ${what}${tail ? `; its last lines:\n${tail}` : ''}`);
}

/** The text of a non-TTY log stream: 8-byte frame headers stripped. */
function demux(buf: Buffer): string {
  const out: Buffer[] = [];
  for (let at = 0; at + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(at + 4);
    out.push(buf.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(out).toString('utf8');
}
