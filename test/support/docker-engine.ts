import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import Docker from 'dockerode';

/**
 * The Docker engine as the tests use it, through dockerode: the same client
 * library the daemon's Docker target uses, structured answers (inspect, wait,
 * exec exit codes) instead of parsed CLI output, and no docker process per
 * call on a two-core machine. The docker CLI is used for one thing only: the
 * documented `docker build -f Dockerfile.agent .` (docker-images.ts).
 *
 * Everything the tests create carries TEST_LABEL; containers and volumes also
 * carry RUN_LABEL with this test process's id, so a test file removes its own
 * and leaves alone those of another run on the same engine.
 */
export const docker = new Docker();

export const TEST_LABEL = 'io.skiff.test';
export const RUN_LABEL = 'io.skiff.test.run';
export const RUN_ID = randomBytes(6).toString('hex');

/** Labels for a container or volume made by this test process. */
export function runLabels(): Record<string, string> {
  return { [TEST_LABEL]: '1', [RUN_LABEL]: RUN_ID };
}

/** How long the engine may take to answer a ping before it counts as absent. */
export const ENGINE_PING_TIMEOUT_MS = 5_000;

/** Why no engine answers, or null when one does. */
export async function engineProblem(): Promise<string | null> {
  const timeout = new Promise<string>((resolve) => {
    setTimeout(() => resolve(`no answer within ${ENGINE_PING_TIMEOUT_MS} ms`), ENGINE_PING_TIMEOUT_MS).unref();
  });
  const ping = docker.ping().then(
    () => null,
    (err: Error) => err.message,
  );
  const problem = await Promise.race([ping, timeout]);
  return problem === null ? null : `no Docker engine answers at ${process.env.DOCKER_HOST ?? '/var/run/docker.sock'} (${problem})`;
}

/**
 * The reason to skip Docker tests, or null to run them. Under CI they never
 * skip: a missing engine fails the test file there instead of passing as
 * skipped.
 */
export async function dockerSkipReason(): Promise<string | null> {
  const problem = await engineProblem();
  if (problem === null) return null;
  if (process.env.CI) throw new Error(`${problem}; under CI the Docker tests must run (.ci/run starts dockerd when none answers)`);
  console.warn(`skipping Docker tests: ${problem}; start dockerd (as .ci/run does) to run them`);
  return problem;
}

/** Splits a multiplexed attach/exec stream (no TTY) into stdout and stderr. */
export function demux(stream: NodeJS.ReadableStream): { stdout: PassThrough; stderr: PassThrough } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  stream.once('end', () => {
    stdout.end();
    stderr.end();
  });
  return { stdout, stderr };
}

/** Reads a stream to its end as text. */
export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs `cmd` in a running container; its exit code and output. */
export async function execIn(container: Docker.Container, cmd: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const { stdout, stderr } = demux(stream);
  const [out, err] = await Promise.all([readAll(stdout), readAll(stderr)]);
  const info = await exec.inspect();
  return { code: info.ExitCode, stdout: out, stderr: err };
}

/** Waits for a streaming engine answer (import, build) to end; rejects with the error it reported. */
export function followProgress(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
      if (err) return reject(err);
      const failed = events.find((e) => e.error !== undefined);
      if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error));
      resolve();
    });
  });
}

function isNotFoundOrBusy(err: unknown): boolean {
  const status = (err as { statusCode?: number }).statusCode;
  return status === 404 || status === 409;
}

/**
 * Removes what carries TEST_LABEL (narrowed to one run with `run`):
 * containers with their anonymous volumes, then named volumes (unless
 * `imagesOnly`), then, when asked, images. An image or volume still in use by someone else's container
 * is left (the engine refuses with 409), as is one already gone.
 */
export async function removeTestResources(
  options: { run?: string; images?: boolean; imagesOnly?: boolean } = {},
): Promise<{ containers: number; volumes: number; images: number }> {
  const label = [`${TEST_LABEL}=1`, ...(options.run ? [`${RUN_LABEL}=${options.run}`] : [])];
  const removed = { containers: 0, volumes: 0, images: 0 };
  const tolerate = (err: unknown): void => {
    if (!isNotFoundOrBusy(err)) throw err;
  };
  for (const info of options.imagesOnly ? [] : await docker.listContainers({ all: true, filters: { label } })) {
    await docker
      .getContainer(info.Id)
      .remove({ force: true, v: true })
      .then(() => removed.containers++, tolerate);
  }
  const { Volumes } = options.imagesOnly ? { Volumes: [] } : await docker.listVolumes({ filters: { label } });
  for (const volume of Volumes ?? []) {
    await docker
      .getVolume(volume.Name)
      .remove()
      .then(() => removed.volumes++, tolerate);
  }
  if (options.images) {
    // By tag: an image goes with its last tag, and a tag given to one of ours by someone else is only untagged.
    for (const image of await docker.listImages({ filters: { label } })) {
      for (const name of image.RepoTags?.filter((t) => t !== '<none>:<none>') ?? [image.Id]) {
        await docker
          .getImage(name)
          .remove({ force: false })
          .then(() => removed.images++, tolerate);
      }
    }
  }
  return removed;
}

/**
 * Runs a container to its end (attached before it starts, so no output is
 * missed) and removes it; its exit code and output.
 */
export async function runToEnd(options: Docker.ContainerCreateOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  const container = await docker.createContainer({ ...options, Labels: { ...options.Labels, ...runLabels() } });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    const { stdout, stderr } = demux(stream);
    const output = Promise.all([readAll(stdout), readAll(stderr)]);
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const [out, err] = await output;
    return { code: StatusCode, stdout: out, stderr: err };
  } finally {
    await container.remove({ force: true, v: true });
  }
}
