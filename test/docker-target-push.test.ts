import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerSkipReason } from './support/docker-engine.ts';
import { FIRST_START_MS, useDockerFixture } from './support/docker-fixture.ts';
import { nodeImage } from './support/docker-images.ts';
import { appContainer, setYaml, type DockerProject } from './support/docker-project.ts';
import { fetchUntil } from './support/http-until.ts';
import { jsonOf } from './support/run-cli.ts';

/**
 * `skiff push --target docker` with no session: one shot, as `odo push` was.
 * It starts the container (the agent as PID 1), syncs, hands the agent the
 * app spec, and exits; the container keeps running the app. A second push
 * sends only the edit, and the app serves it.
 */

const skip = await dockerSkipReason();

interface PushJson {
  ok: boolean;
  uploaded: number;
  deleted: number;
  inSync: boolean;
  session?: boolean;
}

describe.skipIf(skip !== null)('skiff push --target docker, one shot', () => {
  let project: DockerProject;
  const fx = useDockerFixture('push', async (fx) => {
    project = await fx.example('hello-node', (await nodeImage()).tag);
    // skiff.yaml keeps the example's own target: the flag chooses docker.
    await setYaml(project.dir, { target: 'local' });
  });

  it('starts the container, syncs, exits; the container runs on, serving the app', async () => {
    const r = await fx.skiff(['push', project.dir, '--target', 'docker', '--json'], FIRST_START_MS);
    expect(r.code, r.stderr).toBe(0);
    const push = jsonOf<PushJson>(r);
    expect(push).toMatchObject({ ok: true, uploaded: 6, deleted: 0, inSync: true });
    expect(push.session).toBeUndefined();
    // No daemon was started for it.
    expect((await fx.skiff(['daemon', 'status'])).code).toBe(3);

    const state = (await appContainer(project).inspect()).State;
    expect(state.Running).toBe(true);
    const url = `http://127.0.0.1:${project.hostPort}/`;
    expect(await fetchUntil(url, /Hello from skiff!/)).toMatch(/Hello from skiff!/);
  });

  it('a second push sends only the edit, into the same container, and the app serves it', async () => {
    const before = await appContainer(project).inspect();
    await writeFile(join(project.dir, 'message.js'), "export const message = 'Pushed again';\n");
    const push = jsonOf<PushJson>(await fx.skiff(['push', project.dir, '--target', 'docker', '--json']));
    expect(push).toMatchObject({ ok: true, uploaded: 1, deleted: 0, inSync: true });
    expect(await fetchUntil(`http://127.0.0.1:${project.hostPort}/`, /Pushed again/)).toMatch(/Pushed again/);
    const after = await appContainer(project).inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    expect(after.State.Running).toBe(true);
  });

  it('the human output says where it went', async () => {
    const r = await fx.skiff(['push', project.dir, '--target', 'docker']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Already in sync');
    expect(r.stdout).toContain(`/tmp/src (container ${project.instance.name}`);
  });
});
