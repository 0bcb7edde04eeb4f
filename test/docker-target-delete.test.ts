import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DevTerminal, privateRuntime, stopDaemon } from './support/dev-session.ts';
import { dockerSkipReason } from './support/docker-engine.ts';
import { nodeImage } from './support/docker-images.ts';
import { agentImageGuard, dockerExample, instanceObjects, removeInstance, type DockerProject } from './support/docker-project.ts';
import { jsonOf, runSkiff } from './support/run-cli.ts';

/**
 * `skiff delete` on the Docker target: whether a session runs (the daemon
 * stops it, then removes) or not (the command removes by itself), nothing
 * labelled with the project's instance is left, containers or volumes, and
 * another project's are untouched.
 */

const skip = await dockerSkipReason();

const FIRST_START_MS = 120_000;

interface DeleteJson {
  ok: boolean;
  target: string;
  removed: string[];
}

describe.skipIf(skip !== null)('skiff delete on the Docker target', () => {
  let work: string;
  let nodeTag: string;
  let agentImage: Awaited<ReturnType<typeof agentImageGuard>>;
  let runtime: string;
  let env: NodeJS.ProcessEnv;
  let project: DockerProject;
  let other: DockerProject;
  const terminals: DevTerminal[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-docker-delete-'));
    agentImage = await agentImageGuard();
    nodeTag = (await nodeImage()).tag;
  });
  afterAll(async () => {
    await agentImage?.release();
    await rm(work, { recursive: true, force: true });
  });

  beforeEach(async () => {
    project = await dockerExample('hello-node', await mkdtemp(join(work, 'a-')), nodeTag);
    other = await dockerExample('hello-node', await mkdtemp(join(work, 'b-')), nodeTag);
    ({ dir: runtime, env } = await privateRuntime());
  });
  afterEach(async () => {
    for (const t of terminals.splice(0)) await t.detach();
    await stopDaemon(env);
    await removeInstance(project.instance);
    await removeInstance(other.instance);
    await rm(runtime, { recursive: true, force: true });
  });

  /** What skiff made for the project: its container and its two volumes (source and agent). */
  async function expectMade(p: DockerProject): Promise<void> {
    const made = await instanceObjects(p.instance);
    expect(made.containers.map((c) => c.Names[0])).toEqual([`/${p.instance.name}`]);
    expect(made.volumes.sort()).toEqual([`${p.instance.name}-agent-`, `${p.instance.name}-src`].map((prefix) => expect.stringMatching(`^${prefix}`)));
  }

  function expectRemovedAll(result: DeleteJson, p: DockerProject): void {
    expect(result).toMatchObject({ ok: true, target: 'docker' });
    expect(result.removed.sort()).toEqual([
      `container ${p.instance.name}`,
      expect.stringMatching(new RegExp(`^volume ${p.instance.name}-agent-[0-9a-f]+$`)),
      `volume ${p.instance.name}-src`,
    ]);
  }

  it('with a session running: stops it, removes every container and volume of the project, and only of it', async () => {
    for (const p of [project, other]) {
      const t = new DevTerminal([p.dir], env);
      terminals.push(t);
      await t.waitFor((e) => e.event === 'app.status' && e.data.state === 'running', FIRST_START_MS);
      await expectMade(p);
    }
    const result = jsonOf<DeleteJson>(await runSkiff(['delete', project.dir, '--json'], { env }));
    expectRemovedAll(result, project);
    expect(await instanceObjects(project.instance)).toEqual({ containers: [], volumes: [] });
    // The session is gone with it, and its terminal saw it end.
    expect((await runSkiff(['status', project.dir], { env })).code).toBe(3);
    await terminals[0].waitFor((e) => e.event === 'session.state' && e.data.state === 'stopped');
    // The other project runs on, untouched.
    await expectMade(other);
    expect((await runSkiff(['status', other.dir, '--json'], { env })).code).toBe(0);
  });

  it('with no daemon: the command removes them by itself; a second delete finds nothing', async () => {
    for (const p of [project, other]) expect(jsonOf(await runSkiff(['push', p.dir, '--json'], { env, timeoutMs: FIRST_START_MS }))).toMatchObject({ ok: true });
    await expectMade(project);
    expect((await runSkiff(['daemon', 'status'], { env })).code).toBe(3);

    const result = jsonOf<DeleteJson>(await runSkiff(['delete', project.dir, '--json'], { env }));
    expectRemovedAll(result, project);
    expect(await instanceObjects(project.instance)).toEqual({ containers: [], volumes: [] });
    await expectMade(other);

    const again = await runSkiff(['delete', project.dir], { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`nothing to remove for ${project.dir} (target docker)\n`);
  });
});
