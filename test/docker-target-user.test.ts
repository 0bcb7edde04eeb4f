import { describe, expect, it } from 'vitest';
import { TOKEN_FILE } from '../packages/daemon/src/targets/pod-shape.ts';
import { dockerSkipReason, execIn } from './support/docker-engine.ts';
import { derivedImage } from './support/docker-derived.ts';
import { FIRST_START_MS, useDockerFixture } from './support/docker-fixture.ts';
import { nodeImage } from './support/docker-images.ts';
import { appContainer, type DockerProject } from './support/docker-project.ts';
import { fetchUntil } from './support/http-until.ts';
import { jsonOf } from './support/run-cli.ts';

/**
 * Images that run as a user other than root (USER node, USER 65532:65532 in
 * distroless images): the agent runs as that user, as the app does. Its token
 * and the source volume's root belong to that user, so the agent reads the
 * one and writes the other, with the default workdir the image knows nothing
 * of.
 */

const skip = await dockerSkipReason();

const WORKDIR = '/tmp/src';

describe.skipIf(skip !== null).each([
  { user: 'nobody', uid: 65534, gid: 65534 },
  // Numeric and in no passwd file: the engine runs it with the ids as given.
  { user: '4242:4343', uid: 4242, gid: 4343 },
])('an image with USER $user', ({ user, uid, gid }) => {
  let project: DockerProject;
  const fx = useDockerFixture('user', async (fx) => {
    project = await fx.example('hello-node', await derivedImage((await nodeImage()).tag, [`USER ${user}`]));
  });

  it('runs agent and app as that user; the token and the synced files are theirs', async () => {
    const r = await fx.skiff(['push', project.dir, '--json'], FIRST_START_MS);
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
