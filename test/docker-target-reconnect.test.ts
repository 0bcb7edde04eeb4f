import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DevEvent, DevTerminal } from './support/dev-session.ts';
import { dockerSkipReason } from './support/docker-engine.ts';
import { FIRST_START_MS, useDockerFixture } from './support/docker-fixture.ts';
import { busyboxImage } from './support/docker-images.ts';
import { appContainer, containerTree, localTree, tempNames, treeDiff, type DockerProject } from './support/docker-project.ts';
import { generateProject } from './support/gen-tree.ts';

/**
 * The container restarted (`docker restart`) or killed (`docker kill`) while
 * a large tree is being synced into it: the session sees its agent go,
 * starts the container again, verifies the volume against the project and
 * sends what is missing, until the volume holds exactly the project (read
 * back through the Engine API's archive endpoint) and no temporary file. With
 * nothing changed, a later reconnect sends nothing.
 */

const skip = await dockerSkipReason();

const CONVERGE_MS = 120_000;
const SMALL_FILES = 2_000;
/** Large files, so the sync lasts long enough to be cut in the middle: a few seconds through the published port. */
const LARGE_FILES = 8;
const LARGE_BYTES = 16 * 1024 * 1024;
const WORKDIR = '/tmp/src';
/** `docker restart`'s grace period (the agent stops well within it). */
const RESTART_GRACE_S = 10;

/** The paths gen-tree keeps out (ignored), and skiff's own index. */
function skipFor(ignored: readonly string[]): (rel: string) => boolean {
  const out = new Set([...ignored, '.skiff']);
  return (rel) => out.has(rel);
}

/** Share of a sync's bytes sent before it is cut: enough that the agent has files in place, far from the end. */
const CUT_AT = 0.2;

/** A sync that has sent a share of its bytes and is not finished: the moment to cut it. */
function midSync(e: DevEvent): boolean {
  return e.event === 'sync.progress' && e.data.bytes >= e.data.totalBytes * CUT_AT && e.data.bytes < e.data.totalBytes;
}

describe.skipIf(skip !== null)('the container restarted or killed in the middle of a sync', () => {
  let project: DockerProject;
  let skipIgnored: (rel: string) => boolean;
  let dev: DevTerminal;
  const fx = useDockerFixture('reconnect', async (fx) => {
    project = await fx.project('big', (await busyboxImage()).tag);
    const tree = await generateProject(project.dir, SMALL_FILES);
    await mkdir(join(project.dir, 'assets'), { recursive: true });
    for (let i = 0; i < LARGE_FILES; i++) await writeFile(join(project.dir, 'assets', `large-${i}.bin`), randomBytes(LARGE_BYTES));
    skipIgnored = skipFor(tree.ignored);
  });

  async function expectConverged(): Promise<void> {
    const [expected, actual] = await Promise.all([localTree(project.dir, skipIgnored), containerTree(appContainer(project), WORKDIR)]);
    expect(tempNames(actual)).toEqual([]);
    expect(treeDiff(expected, actual)).toEqual([]);
    expect(actual.size).toBeGreaterThan(SMALL_FILES);
  }

  it('docker kill in the first sync: the session starts the container again and converges', async () => {
    dev = fx.dev(project);
    const cut = await dev.waitFor((e) => midSync(e), FIRST_START_MS);
    await appContainer(project).kill();
    const mark = dev.events.indexOf(cut);
    await dev.waitFor((e) => e.event === 'agent.state' && e.data.state === 'disconnected', 30_000, mark);
    // The cut sync did not finish.
    expect(dev.events.some((e) => e.event === 'sync.finished' && e.data.batch === cut.data.batch)).toBe(false);
    const resync = await dev.waitFor((e) => e.event === 'sync.finished' && e.data.inSync === true, CONVERGE_MS, mark);
    // A first sync into an empty root is staged and moved into place whole at its commit: cut
    // before it, nothing of it is in the root (no partial file, no partial tree), so it starts over.
    expect(resync.data.uploaded).toBe(cut.data.totalFiles);
    await expectConverged();
  });

  it('docker restart in a large sync: reconnects, verifies, converges; no partial file', async () => {
    // A new large batch to cut: a directory of new large files, moved into the project at once.
    const staged = join(fx.work, 'more-assets');
    await mkdir(staged);
    for (let i = 0; i < LARGE_FILES; i++) await writeFile(join(staged, `large-${i}.bin`), randomBytes(LARGE_BYTES));
    const mark = dev.events.length;
    await rename(staged, join(project.dir, 'more-assets'));
    const cut = await dev.waitFor((e) => midSync(e) && e.data.totalFiles === LARGE_FILES, 60_000, mark);
    await appContainer(project).restart({ t: RESTART_GRACE_S });
    const from = dev.events.indexOf(cut);
    await dev.waitFor((e) => e.event === 'agent.state' && e.data.state === 'disconnected', 30_000, from);
    expect(dev.events.some((e) => e.event === 'sync.finished' && e.data.batch === cut.data.batch)).toBe(false);
    await dev.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect' && e.data.inSync === true, CONVERGE_MS, from);
    await expectConverged();
  });

  it('with nothing changed, a reconnect sends nothing', async () => {
    const mark = dev.events.length;
    await appContainer(project).restart({ t: RESTART_GRACE_S });
    const resync = await dev.waitFor((e) => e.event === 'sync.finished' && e.data.reason === 'reconnect', CONVERGE_MS, mark);
    expect(resync.data).toMatchObject({ uploaded: 0, copied: 0, deleted: 0, bytes: 0, inSync: true });
    await expectConverged();
  });
});
