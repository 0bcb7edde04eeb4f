import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stopDaemon, type DevTerminal } from './support/dev-session.ts';
import { dockerSkipReason, execIn } from './support/docker-engine.ts';
import { useDockerFixture } from './support/docker-fixture.ts';
import { nodeImage } from './support/docker-images.ts';
import { appContainer, containerTree, localTree, treeDiff, type DockerProject } from './support/docker-project.ts';
import { fetchUntil } from './support/http-until.ts';
import { jsonOf } from './support/run-cli.ts';

/**
 * What `assemble` makes in the container under a path the project ignores
 * (node_modules/, in hello-node's .gitignore) is not skiff's: it survives
 * later syncs, a `skiff push`, a restart of the container and a one-shot
 * push into it. Each run of assemble appends a line, so the file's first
 * line says whether it is still the one the first run made.
 */

const skip = await dockerSkipReason();

const WORKDIR = '/tmp/src';
const ASSEMBLED = 'node_modules/dep/assembled';
const RESTART_GRACE_S = 10;

describe.skipIf(skip !== null)('what assemble builds under an ignored path in the container', () => {
  let project: DockerProject;
  let dev: DevTerminal;
  let first: string;
  const fx = useDockerFixture('ignored', async (fx) => {
    project = await fx.example('hello-node', (await nodeImage()).tag, {
      assemble: `mkdir -p node_modules/dep && cat /proc/sys/kernel/random/uuid >> ${ASSEMBLED}`,
      assembleOn: ['package.json'],
    });
    // The project's own node_modules is ignored too: never sent, and no reason to delete the container's.
    await mkdir(join(project.dir, 'node_modules'));
    await writeFile(join(project.dir, 'node_modules', 'local-only.js'), 'export {};\n');
  });

  async function assembledLines(): Promise<string[]> {
    const r = await execIn(appContainer(project), ['cat', `${WORKDIR}/${ASSEMBLED}`]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim().split('\n');
  }

  /** The container holds the project (ignored paths aside) plus what assemble made, and nothing of the project's node_modules. */
  async function expectTree(): Promise<void> {
    const actual = await containerTree(appContainer(project), WORKDIR);
    expect(actual.get('node_modules/local-only.js')).toBeUndefined();
    const outsideIgnored = new Map([...actual].filter(([rel]) => rel !== 'node_modules' && !rel.startsWith('node_modules/')));
    expect(treeDiff(await localTree(project.dir, (rel) => rel === 'node_modules' || rel === '.skiff'), outsideIgnored)).toEqual([]);
  }

  it('is made by the first assemble', async () => {
    ({ dev } = await fx.devRunning(project));
    const lines = await assembledLines();
    expect(lines).toHaveLength(1);
    first = lines[0];
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('survives a later sync', async () => {
    const mark = dev.events.length;
    await writeFile(join(project.dir, 'message.js'), "export const message = 'A later sync';\n");
    await dev.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'watch', 30_000, mark);
    expect(await fetchUntil(`http://127.0.0.1:${project.hostPort}/`, /A later sync/)).toBeTruthy();
    // assembleOn: package.json only: assemble did not run again, and nothing removed its file.
    expect(await assembledLines()).toEqual([first]);
    await expectTree();
  });

  it('survives a skiff push through the session', async () => {
    const push = jsonOf<{ ok: boolean; inSync: boolean; deleted: number; session: boolean }>(await fx.skiff(['push', project.dir, '--json']));
    expect(push).toMatchObject({ ok: true, inSync: true, deleted: 0, session: true });
    expect((await assembledLines())[0]).toBe(first);
    await expectTree();
  });

  it('survives a restart of the container (the reconnect verifies the whole tree)', async () => {
    const mark = dev.events.length;
    await appContainer(project).restart({ t: RESTART_GRACE_S });
    const resync = await dev.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect', 60_000, mark);
    expect(resync.data).toMatchObject({ deleted: 0, uploaded: 0, inSync: true });
    expect((await assembledLines())[0]).toBe(first);
    await expectTree();
  });

  it('survives a one-shot push into the container after the session stopped', async () => {
    await dev.detach();
    expect((await fx.skiff(['stop', project.dir])).code).toBe(0);
    await stopDaemon(fx.env);
    const push = jsonOf<{ ok: boolean; inSync: boolean; deleted: number; session?: boolean }>(await fx.skiff(['push', project.dir, '--json']));
    expect(push).toMatchObject({ ok: true, inSync: true, deleted: 0 });
    expect(push.session).toBeUndefined();
    expect((await assembledLines())[0]).toBe(first);
    await expectTree();
  });
});
