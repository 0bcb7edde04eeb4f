import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, TOKEN_ENV } from '@skiff/protocol';
import { AgentClient, runPush } from '@skiff/daemon';
import { AGENT_MOUNT, AGENT_ROOT, AgentContainer } from './support/docker-agent.ts';
import { RUN_ID, dockerSkipReason, execIn, removeTestResources } from './support/docker-engine.ts';
import { BROKEN_LIB_DIR, BUNDLE_DIR, IMAGE_MARKER_VAR, ImageKind, testImage, type TestImage } from './support/docker-images.ts';
import { descendants, hostCmdline, hostEnviron, procExists, type HostProc } from './support/docker-procs.ts';

/**
 * The self-contained agent bundle as PID 1 of app images that hold nothing
 * of it: busybox alone (no node, no libc, and an LD_LIBRARY_PATH naming a
 * broken libc) and a glibc image with its own node. In each: the agent
 * starts through its own loader, takes its token from a private mount,
 * receives a pushed tree, runs the app with the image's /bin/sh and
 * environment, reaps the app's orphans, and passes `docker stop`'s SIGTERM
 * to the app, whose shutdown handler runs before the container exits.
 */

const skip = await dockerSkipReason();

/** The one-shot push's bound; far above what a few files take. */
const PUSH_TIMEOUT_MS = 60_000;
/** `docker stop`'s grace period: well above the agent's own (the agent, not Docker's SIGKILL, must end it). */
const STOP_TIMEOUT_S = 30;
const ORPHANS = 3;
/** The FIFO the app's orphans block on; opening it for writing lets them exit. */
const RELEASE_FIFO = '/tmp/skiff-test-release';

/**
 * The app (.s2i/bin/run, run by the image's /bin/sh): says what it runs with,
 * leaves ORPHANS double-forked children blocked on a FIFO (orphaned at once,
 * reparented to PID 1), and exits 0 from its SIGTERM handler.
 */
const APP = `#!/bin/sh
trap 'echo "app: got TERM"; echo "app: shutdown handler done"; exit 0' TERM
echo "app: shell $(readlink /proc/$$/exe)"
env | sed 's/^/app-env: /'
if command -v node >/dev/null 2>&1; then echo "app: image node $(node -e 'process.stdout.write(process.version)')"; fi
echo "app: hello $(cat hello.txt)"
rm -f ${RELEASE_FIFO}
mkfifo ${RELEASE_FIFO}
for i in $(seq ${ORPHANS}); do
  ( cat ${RELEASE_FIFO} > /dev/null & echo "app: orphan $!" )
done
echo "app: ready"
while :; do sleep 1 & wait $!; done
`;

async function makeProject(dir: string): Promise<{ payload: Buffer }> {
  await mkdir(join(dir, '.s2i', 'bin'), { recursive: true });
  await writeFile(join(dir, '.s2i', 'bin', 'run'), APP);
  await chmod(join(dir, '.s2i', 'bin', 'run'), 0o755);
  await writeFile(join(dir, 'hello.txt'), 'from the pushed tree\n');
  const payload = randomBytes(300 * 1024);
  await mkdir(join(dir, 'src', 'nested'), { recursive: true });
  await writeFile(join(dir, 'src', 'nested', 'payload.bin'), payload);
  return { payload };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The app's environment, from its `app-env: NAME=value` lines. */
function appEnv(agent: AgentContainer): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of agent.lines) {
    const m = /^app-env: ([^=]+)=(.*)$/.exec(line);
    if (m) env.set(m[1], m[2]);
  }
  return env;
}

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'skiff-docker-pid1-'));
});

afterAll(async () => {
  if (skip === null) await removeTestResources({ run: RUN_ID });
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(skip !== null).each([ImageKind.BUSYBOX, ImageKind.NODE])('the agent bundle as PID 1 of the %s image', (kind) => {
  let image: TestImage;
  let agent: AgentContainer;
  let project: string;
  let payload: Buffer;

  beforeAll(async () => {
    image = await testImage(kind);
    project = await mkdtemp(join(work, `${kind}-project-`));
    ({ payload } = await makeProject(project));
    agent = await AgentContainer.create({ image: image.tag, bundle: { hostDir: BUNDLE_DIR }, workDir: work });
    await agent.start();
  });

  it('is PID 1: /proc/1/cmdline is the agent started through its own loader, nothing of the image before it', async () => {
    const cmdline = await execIn(agent.container, ['cat', '/proc/1/cmdline']);
    expect(cmdline.code).toBe(0);
    expect(cmdline.stdout.split('\0').slice(0, -1)).toEqual(agent.command);
    expect(agent.command[0]).toMatch(new RegExp(`^${AGENT_MOUNT}/lib/ld-`));
    expect(agent.command).toContain(`${AGENT_MOUNT}/skiff-agent.js`);
    expect(agent.listening()).toMatchObject({ pid: 1, root: AGENT_ROOT });
    // The image's CMD was not appended to the agent's arguments.
    expect(hostCmdline(await agent.hostPid())).toEqual(agent.command);
  });

  it('takes its token from the private mount alone: not in the container config, command line or environment', async () => {
    const info = await agent.inspect();
    const config = JSON.stringify([info.Config.Env, info.Config.Cmd, info.Config.Entrypoint, info.Args, info.Path]);
    expect(config).not.toContain(agent.token);
    expect(config).not.toContain(TOKEN_ENV);
    const pid = await agent.hostPid();
    expect(hostEnviron(pid).join('\n')).not.toContain(agent.token);
    expect(hostCmdline(pid).join(' ')).not.toContain(agent.token);
    // It did read it: another token is refused, its own is accepted.
    const url = await agent.url();
    await expect(AgentClient.connect(url, 'f'.repeat(64))).rejects.toMatchObject({ code: ErrorCode.AUTH });
    const client = await AgentClient.connect(url, agent.token);
    await client.close();
  });

  it('receives a pushed tree and runs the app with the image\'s own /bin/sh and environment', async () => {
    const result = await runPush({ dir: project, connect: async () => AgentClient.connect(await agent.url(), agent.token), timeoutMs: PUSH_TIMEOUT_MS });
    expect(result).toMatchObject({ uploaded: 3, inSync: true, problems: [] });
    await agent.line(/^app: ready$/);
    const copied = await execIn(agent.container, ['sha256sum', `${AGENT_ROOT}/src/nested/payload.bin`]);
    expect(copied.stdout.split(' ')[0]).toBe(sha256(payload));
    expect(agent.lines).toContain('app: hello from the pushed tree');

    // The image's shell (the bundle has none) with the image's environment, untouched by the agent's launch.
    expect(agent.lines).toContain('app: shell /bin/busybox');
    const env = appEnv(agent);
    expect(env.get(IMAGE_MARKER_VAR)).toBe(kind);
    expect(env.get('LD_LIBRARY_PATH')).toBe(image.env.LD_LIBRARY_PATH);
    expect(env.has('LD_PRELOAD')).toBe(false);
    expect(env.has(TOKEN_ENV)).toBe(false);
    expect([...env.values()].join('\n')).not.toContain(agent.token);
    if (kind === ImageKind.BUSYBOX) {
      // The agent's node ran although LD_LIBRARY_PATH names a broken libc: its loader never looked there.
      expect(env.get('LD_LIBRARY_PATH')).toBe(BROKEN_LIB_DIR);
      expect((await execIn(agent.container, ['ls', '/usr/bin/node', '/lib/x86_64-linux-gnu'])).code).not.toBe(0);
    } else {
      expect(agent.lines).toContain(`app: image node ${process.version}`);
    }
  });

  it('reaps the app\'s orphans: reparented to PID 1, then gone without a zombie', async () => {
    // The addon shipped beside skiff-agent.js was found and loaded (else the agent warns and does not reap).
    expect(agent.lines.filter((l) => l.includes('will not be reaped'))).toEqual([]);
    const agentPid = await agent.hostPid();
    const orphanNsPids = agent.lines.map((l) => /^app: orphan (\d+)$/.exec(l)).filter((m) => m !== null).map((m) => Number(m[1]));
    expect(orphanNsPids).toHaveLength(ORPHANS);
    const orphans = await agent.until('the orphans reparented to PID 1', () => {
      const found = descendants(agentPid).filter((p) => orphanNsPids.includes(p.nsPid) && p.ppid === agentPid);
      return found.length === ORPHANS ? found : undefined;
    });
    expect(orphans.map((p) => p.comm)).toEqual(Array(ORPHANS).fill('cat'));

    const release = await execIn(agent.container, ['sh', '-c', `: > ${RELEASE_FIFO}`]);
    expect(release.code).toBe(0);
    // Without reaping they would stay as zombies (state Z) of PID 1 for good.
    await agent.until('the orphans reaped', () => orphans.every((p: HostProc) => !procExists(p.pid)));
    expect(descendants(agentPid).filter((p) => p.state === 'Z')).toEqual([]);
  });

  it('docker stop: the app gets SIGTERM and runs its shutdown handler; the container exits with the app\'s code', async () => {
    expect(agent.exited).not.toBeNull();
    await agent.container.stop({ t: STOP_TIMEOUT_S });
    const end = await agent.exited!;
    await agent.line(/^app: shutdown handler done$/);
    expect(agent.lines).toContain('app: got TERM');
    // 0 is the app's own exit; Docker's SIGKILL after the grace period would have made it 137.
    expect(end.StatusCode).toBe(0);
    expect((await agent.inspect()).State.ExitCode).toBe(0);
  });
});

