import { beforeAll, describe, expect, it } from 'vitest';
import type { DevTerminal } from './support/dev-session.ts';
import { dockerSkipReason } from './support/docker-engine.ts';
import { FIRST_START_MS, useDockerFixture } from './support/docker-fixture.ts';
import { nodeImage } from './support/docker-images.ts';
import { instanceObjects, type DockerProject } from './support/docker-project.ts';
import { jsonOf } from './support/run-cli.ts';

/**
 * `skiff delete` on the Docker target: whether a session runs (the daemon
 * stops it, then removes) or not (the command removes by itself), nothing
 * labelled with the project's instance is left, containers or volumes, and
 * another project's are untouched.
 */

const skip = await dockerSkipReason();

interface DeleteJson {
  ok: boolean;
  target: string;
  removed: string[];
}

describe.skipIf(skip !== null)('skiff delete on the Docker target', () => {
  let nodeTag: string;
  let project: DockerProject;
  let other: DockerProject;
  beforeAll(async () => {
    nodeTag = (await nodeImage()).tag;
  });
  const fx = useDockerFixture(
    'delete',
    async (fx) => {
      project = await fx.example('hello-node', nodeTag);
      other = await fx.example('hello-node', nodeTag);
    },
    { perTest: true },
  );

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
    const terminals: DevTerminal[] = [];
    for (const p of [project, other]) {
      terminals.push((await fx.devRunning(p)).dev);
      await expectMade(p);
    }
    const result = jsonOf<DeleteJson>(await fx.skiff(['delete', project.dir, '--json']));
    expectRemovedAll(result, project);
    expect(await instanceObjects(project.instance)).toEqual({ containers: [], volumes: [] });
    // The session is gone with it, and its terminal saw it end.
    expect((await fx.skiff(['status', project.dir])).code).toBe(3);
    await terminals[0].waitFor((e) => e.event === 'session.state' && e.data.state === 'stopped');
    // The other project runs on, untouched.
    await expectMade(other);
    expect((await fx.skiff(['status', other.dir, '--json'])).code).toBe(0);
  });

  it('with no daemon: the command removes them by itself; a second delete finds nothing', async () => {
    for (const p of [project, other]) expect(jsonOf(await fx.skiff(['push', p.dir, '--json'], FIRST_START_MS))).toMatchObject({ ok: true });
    await expectMade(project);
    expect((await fx.skiff(['daemon', 'status'])).code).toBe(3);

    const result = jsonOf<DeleteJson>(await fx.skiff(['delete', project.dir, '--json']));
    expectRemovedAll(result, project);
    expect(await instanceObjects(project.instance)).toEqual({ containers: [], volumes: [] });
    await expectMade(other);

    const again = await fx.skiff(['delete', project.dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`nothing to remove for ${project.dir} (target docker)\n`);
  });
});
