import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type Docker from 'dockerode';
import { ErrorCode, SkiffError } from '@skiff/protocol';

/**
 * The Docker Engine API through dockerode, which honours DOCKER_HOST (and
 * DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) and otherwise uses the local socket.
 * No API version is pinned: the engine's own is used, so old engines (API
 * 1.41) work. Errors become SkiffErrors with a code a person can act on.
 */
export interface EngineError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  message: string;
}

/**
 * Loaded on first use: only the docker target needs the Engine API client,
 * and it stays outside the bundled programs (scripts/build.mjs), which keeps
 * every other command's start as fast as before.
 */
export async function openEngine(): Promise<Docker> {
  const { default: DockerClient } = await import('dockerode');
  return new DockerClient();
}

/**
 * A client whose connections do not keep this process alive, for the one
 * call that lasts as long as the container runs: its wait (AgentPlace.gone).
 * A session's daemon lives on anyway; a one-shot `skiff push` leaves the
 * container running and must exit when the push is done, not when the
 * container stops. Over ssh the modem brings its own agent, which is kept.
 */
export async function openBackgroundEngine(): Promise<Docker> {
  const { default: DockerClient } = await import('dockerode');
  const protocol = (new DockerClient().modem as { protocol?: string }).protocol;
  if (protocol === 'ssh') return new DockerClient();
  const Base = protocol === 'https' ? HttpsAgent : HttpAgent;
  class UnrefAgent extends Base {
    override createConnection(...args: Parameters<HttpAgent['createConnection']>): ReturnType<HttpAgent['createConnection']> {
      const socket = super.createConnection(...args);
      (socket as { unref?: () => void } | null | undefined)?.unref?.();
      return socket;
    }
  }
  // docker-modem takes `agent` (passed to each request); @types/dockerode does not list it.
  return new DockerClient({ agent: new UnrefAgent() } as Docker.DockerOptions);
}

/** Where the engine is expected, for messages. */
export function engineAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/** Checks that an engine answers; maps the usual failures to their codes. */
export async function pingEngine(docker: Docker): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw engineUnavailable(err);
  }
}

export function engineUnavailable(err: unknown): SkiffError {
  const e = err as EngineError;
  const where = engineAddress();
  if (e.code === 'EACCES') {
    return new SkiffError(ErrorCode.TARGET_UNAVAILABLE, `permission denied on the Docker socket at ${where}: add your user to the "docker" group (then log in again) or set DOCKER_HOST`, { cause: err });
  }
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'EHOSTUNREACH' || e.code === 'ETIMEDOUT') {
    return new SkiffError(ErrorCode.TARGET_UNAVAILABLE, `no Docker engine answers at ${where}: start Docker (or dockerd), or point DOCKER_HOST at one`, { cause: err });
  }
  return new SkiffError(ErrorCode.TARGET_UNAVAILABLE, `the Docker engine at ${where} failed: ${messageOf(err)}`, { cause: err });
}

/** The engine's own message for a failed call, without dockerode's prefix. */
export function messageOf(err: unknown): string {
  const e = err as EngineError;
  return e.json?.message ?? e.message ?? String(err);
}

export function statusOf(err: unknown): number | undefined {
  return (err as EngineError).statusCode;
}

/** Reads a stream to its end as text (build and pull progress, logs). */
export function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(Buffer.from(d)));
    stream.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    stream.on('error', reject);
  });
}

/** The error lines of a build or pull progress stream (JSON lines with "error"), if any. */
export function progressError(text: string): string | null {
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const msg = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
      if (msg.error || msg.errorDetail?.message) return msg.errorDetail?.message ?? msg.error ?? null;
    } catch {
      // A progress line that is not JSON carries no error.
    }
  }
  return null;
}
