import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_FILE } from '../packages/daemon/src/targets/pod-shape.ts';
import { privateRuntime } from './support/dev-session.ts';
import { RUN_ID, dockerSkipReason, execIn, removeTestResources } from './support/docker-engine.ts';
import { derivedImage } from './support/docker-derived.ts';
import { nodeImage } from './support/docker-images.ts';
import { agentImageGuard, appContainer, dockerExample, removeInstance, type DockerProject } from './support/docker-project.ts';
import { fetchUntil } from './support/http-until.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';

/**
 * Images that run as a user other than root (USER node, USER 65532:65532 in
 * distroless images): the agent runs as that user, as the app does. Its token
 * and the source volume's root belong to that user, so the agent reads the
 * one and writes the other, with the default workdir the image knows nothing
 * of.
 */

const skip = await dockerSkipReason();

const FIRST_PUSH_MS = 120_000;
const WORKDIR = '/tmp/src';

describe.skipIf(skip !== null).each([
  { user: 'nobody', uid: 65534, gid: 65534 },
  // Numeric and in no passwd file: the engine runs it with the ids as given.
  { user: '4242:4343', uid: 4242, gid: 4343 },
])('an image with USER $user', ({ user, uid, gid }) => {
  let work: string;
  let runtime: string;
  let env: NodeJS.ProcessEnv;
  let project: DockerProject;
  let agentImage: Awaited<ReturnType<typeof agentImageGuard>>;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-docker-user-'));
    agentImage = await agentImageGuard();
    const image = await derivedImage((await nodeImage()).tag, [`USER ${user}`]);
    project = await dockerExample('hello-node', work, image);
    ({ dir: runtime, env } = await privateRuntime());
  });

  afterAll(async () => {
    if (project) await removeInstance(project.instance);
    await removeTestResources({ run: RUN_ID, images: true });
    await agentImage?.release();
    await rm(work, { recursive: true, force: true });
    if (runtime) await rm(runtime, { recursive: true, force: true });
  });

  it('runs agent and app as that user; the token and the synced files are theirs', async () => {
    const r = await runSkiff(['push', project.dir, '--json'], { env, timeoutMs: FIRST_PUSH_MS });
    expect(jsonOf(r), r.stderr).toMatchObject({ ok: true, uploaded: 6, inSync: true, problems: [] });
    expect(await fetchUntil(`http://127.0.0.1:${project.hostPort}/`, /Hello from skiff!/)).toMatch(/Hello from skiff!/);

    const container = appContainer(project);
    const ids = await execIn(container, ['sh', '-c', `stat -c '%u:%g %a %n' /proc/1 ${TOKEN_FILE} ${WORKDIR} ${WORKDIR}/server.js`]);
    expect(ids.code, ids.stderr).toBe(0);
    const [agent, token, root, file] = ids.stdout.trim().split('\n');
    expect(agent).toBe(`${uid}:${gid} 555 /proc/1`);
    expect(token).toBe(`${uid}:${gid} 400 ${TOKEN_FILE}`);
    expect(root).toBe(`${uid}:${gid} 755 ${WORKDIR}`);
    expect(file).toBe(`${uid}:${gid} 644 ${WORKDIR}/server.js`);
  });
});
