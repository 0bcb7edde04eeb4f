import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateRuntime } from './support/dev-session.ts';
import { dockerSkipReason } from './support/docker-engine.ts';
import { nodeImage } from './support/docker-images.ts';
import { agentImageGuard, appContainer, dockerExample, removeInstance, setYaml, type DockerProject } from './support/docker-project.ts';
import { fetchUntil } from './support/http-until.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';

/**
 * `skiff push --target docker` with no session: one shot, as `odo push` was.
 * It starts the container (the agent as PID 1), syncs, hands the agent the
 * app spec, and exits; the container keeps running the app. A second push
 * sends only the edit, and the app serves it.
 */

const skip = await dockerSkipReason();

/** The first push may build the agent image and fill its volume. */
const FIRST_PUSH_MS = 120_000;

interface PushJson {
  ok: boolean;
  uploaded: number;
  deleted: number;
  inSync: boolean;
  session?: boolean;
}

describe.skipIf(skip !== null)('skiff push --target docker, one shot', () => {
  let work: string;
  let runtime: string;
  let env: NodeJS.ProcessEnv;
  let project: DockerProject;
  let agentImage: Awaited<ReturnType<typeof agentImageGuard>>;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-docker-push-'));
    agentImage = await agentImageGuard();
    project = await dockerExample('hello-node', work, (await nodeImage()).tag);
    // skiff.yaml keeps the example's own target: the flag chooses docker.
    await setYaml(project.dir, { target: 'local' });
    ({ dir: runtime, env } = await privateRuntime());
  });

  afterAll(async () => {
    if (project) await removeInstance(project.instance);
    await agentImage?.release();
    await rm(work, { recursive: true, force: true });
    if (runtime) await rm(runtime, { recursive: true, force: true });
  });

  it('starts the container, syncs, exits; the container runs on, serving the app', async () => {
    const r = await runSkiff(['push', project.dir, '--target', 'docker', '--json'], { env, timeoutMs: FIRST_PUSH_MS });
    expect(r.code, r.stderr).toBe(0);
    const push = jsonOf<PushJson>(r);
    expect(push).toMatchObject({ ok: true, uploaded: 6, deleted: 0, inSync: true });
    expect(push.session).toBeUndefined();
    // No daemon was started for it.
    expect((await runSkiff(['daemon', 'status'], { env })).code).toBe(3);

    const state = (await appContainer(project).inspect()).State;
    expect(state.Running).toBe(true);
    const url = `http://127.0.0.1:${project.hostPort}/`;
    expect(await fetchUntil(url, /Hello from skiff!/)).toMatch(/Hello from skiff!/);
  });

  it('a second push sends only the edit, into the same container, and the app serves it', async () => {
    const before = await appContainer(project).inspect();
    await writeFile(join(project.dir, 'message.js'), "export const message = 'Pushed again';\n");
    const push = jsonOf<PushJson>(await runSkiff(['push', project.dir, '--target', 'docker', '--json'], { env }));
    expect(push).toMatchObject({ ok: true, uploaded: 1, deleted: 0, inSync: true });
    expect(await fetchUntil(`http://127.0.0.1:${project.hostPort}/`, /Pushed again/)).toMatch(/Pushed again/);
    const after = await appContainer(project).inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    expect(after.State.Running).toBe(true);
  });

  it('the human output says where it went', async () => {
    const r = await runSkiff(['push', project.dir, '--target', 'docker'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Already in sync');
    expect(r.stdout).toContain(`/tmp/src (container ${project.instance.name}`);
  });
});
